import BerthCore
import BerthNamespace
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// The supervisor's side of a container's stdio, in this process: a terminal made inside the
/// container, the caller's streams relayed apart, the log, and volumes, users and a
/// read-only root as the process sees them.
@Suite("Supervision and process features (kernel)", .enabled(if: try KernelTests.enabled))
struct SupervisionKernelTests {
    @Test("a terminal is made inside the container: the command's stdio and controlling terminal, at the size asked; the caller gets the master")
    func terminal() throws {
        try withRootfs { rootfs in
            let process = try ContainerProcess.spawn(ContainerSpec(command: ["sh", "-c", "tty; stty size"], rootfs: rootfs.path,
                                                                   terminal: true, terminalSize: TerminalSize(rows: 33, columns: 111)))
            let master = try #require(process.terminal)
            defer { close(master) }
            try process.start()
            var output = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            // Until every slave is closed: then the master reads EIO.
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                output += buffer[..<n]
            }
            #expect(try process.wait() == .exited(0))
            let lines = String(decoding: output, as: UTF8.self).split(separator: "\r\n").map(String.init)
            #expect(lines.prefix(2) == ["/dev/pts/0", "33 111"], "\(lines)")
        }
    }

    @Test("Supervisor.run attached to the caller's streams: stdout and stderr apart, stdin with interactive, the log keeps both; autoRemove leaves nothing")
    func attached() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let input = try OutputPipe()
                let out = try OutputPipe()
                let err = try OutputPipe()
                FileIO.writeAll(input.write, Array("typed line\n".utf8))
                input.closeWrite()
                let options = RunOptions(process: ContainerSpec(command: ["sh", "-c", "read line; echo \"got $line\"; echo complaint >&2; exit 6"],
                                                                rootfs: rootfs.path),
                                         name: "attached", network: .none, interactive: true)
                var logged: [(ContainerLog.Stream, String)] = []
                let status = try Supervisor.run(options, manager: manager, attachment: Attachment(stdin: input.read, stdout: out.write, stderr: err.write))
                #expect(status == .exited(6))
                #expect(out.readAll() == "got typed line\n")
                #expect(err.readAll() == "complaint\n")
                try Container.logs("attached", manager: manager) { stream, bytes in logged.append((stream, String(decoding: bytes, as: UTF8.self))) }
                #expect(logged.map(\.1).joined() == "got typed line\ncomplaint\n")
                #expect(Set(logged.map(\.0)) == [.stdout, .stderr])
                #expect(try Container.find("attached", manager: manager).exitCode == 6)
                try Container.remove("attached", manager: manager)

                // Without interactive the command reads nothing: its stdin is /dev/null.
                var quiet = options
                quiet.name = "quiet"
                quiet.interactive = false
                quiet.autoRemove = true
                quiet.process.command = ["sh", "-c", "cat; echo done"]
                let out2 = try OutputPipe()
                #expect(try Supervisor.run(quiet, manager: manager, attachment: Attachment(stdin: 0, stdout: out2.write, stderr: out2.write)) == .exited(0))
                #expect(out2.readAll() == "done\n")
                #expect(try Container.list(manager: manager).isEmpty)
                #expect(ContainerLog.ids(state: sandbox.stateDirectory).isEmpty)
            }
        }
    }

    @Test("gc removes a --rm container whose supervisor died between recording its exit and removing it; its name is free again")
    func gcRemovesExitedAutoRemove() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            let store = try manager.containerStore()
            var names: [String] = []
            var warnings: [HostWarning] = []
            // Left as a supervisor that crashed leaves it: exited, its supervisor cleared or dead.
            for (name, supervisor) in [("cleared", nil), ("dead", ProcessIdentity(pid: 999_999, startTime: 1))] as [(String, ProcessIdentity?)] {
                var options = RunOptions(process: ContainerSpec(command: ["true"]), name: name, network: .none)
                options.autoRemove = true
                let record = try Container.create(options, manager: manager, warnings: &warnings)
                try store.write { tx throws(BerthError) in
                    try tx.markExited(id: record.id, exitCode: 0, finished: 1)
                    try tx.setSupervisor(id: record.id, supervisor)
                }
                names.append(name)
            }
            // A kept container that exited normally stays.
            let kept = try Container.create(RunOptions(process: ContainerSpec(command: ["true"]), name: "kept", network: .none), manager: manager, warnings: &warnings)
            try store.write { tx throws(BerthError) in
                try tx.markExited(id: kept.id, exitCode: 0, finished: 1)
                try tx.setSupervisor(id: kept.id, nil)
            }
            _ = try Container.removeOrphans(manager: manager)
            #expect(try Container.list(manager: manager).map(\.name) == ["kept"])
            for name in names {
                var again = RunOptions(process: ContainerSpec(command: ["true"]), name: name, network: .none)
                again.autoRemove = true
                #expect(try Container.create(again, manager: manager, warnings: &warnings).name == name)
            }
        }
    }

    @Test("volumes, a read-only root and a user, as the command sees them")
    func processFeatures() throws {
        try withRootfs { rootfs in
            try "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\n".write(toFile: rootfs.path + "/etc/passwd", atomically: true, encoding: .utf8)
            let host = NSTemporaryDirectory() + "berth-bind-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: host) }
            try "hello\n".write(toFile: host + "/file", atomically: true, encoding: .utf8)
            var spec = ContainerSpec(command: ["sh", "-c", "cat /in/file /one; echo x > /out/new; touch /in/no 2>/dev/null || echo ro; touch /root/x 2>/dev/null || echo rootro; id -u; echo $HOME"],
                                     rootfs: rootfs.path)
            spec.mounts = [BindMount(source: host, target: "/in", readOnly: true), BindMount(source: host, target: "/out"),
                           BindMount(source: host + "/file", target: "/one")]
            spec.readOnlyRootfs = true
            spec.user = "bob"
            let result = try run(spec)
            // bob may not write to the host directory (root's 0755): only what is readable shows.
            #expect(result.output.hasPrefix("hello\nhello\n"), "\(result)")
            #expect(result.output.hasSuffix("ro\nrootro\n1000\n/home/bob\n"), "\(result)")

            spec.user = nil
            let asRoot = try run(spec)
            #expect(asRoot.output == "hello\nhello\nro\nrootro\n0\n/root\n", "\(asRoot)")
            #expect(try String(contentsOfFile: host + "/new", encoding: .utf8) == "x\n")
            #expect(!FileManager.default.fileExists(atPath: host + "/no"))
        }
    }
}
