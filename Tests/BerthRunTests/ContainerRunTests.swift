import BerthCore
@testable import BerthNamespace
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

@Suite("Container.run (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerRunKernelTests {
    @Test("run on the default network: created on first use with berth0, the command sees eth0 with its address; wait releases it, remove removes it")
    func runWaitCleanUp() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let out = try OutputPipe()
                let process = ContainerSpec(command: ["cat", "/proc/net/dev", "/etc/hostname"], hostname: "libbox", rootfs: rootfs.path,
                                            stdout: out.write)
                let container = try Container.run(RunOptions(process: process, name: "lib"), manager: manager)
                defer { container.forceRemove(manager: manager) }
                out.closeWrite()
                #expect(container.name == "lib")
                #expect(try manager.network(named: "berth").bridge.rawValue == "berth0")
                let endpoint = try #require(container.endpoint)
                #expect(endpoint.id == container.record.id)
                #expect(try Container.list(manager: manager).map(\.name) == ["lib"])
                #expect(try Container.find("lib", manager: manager).status == .running)

                let output = out.readAll()
                #expect(try container.wait() == .exited(0))
                #expect(output.contains("eth0:") && output.hasSuffix("libbox\n"), "\(output)")
                // Exited, it holds no endpoint, address or port, and keeps its name.
                let exited = try Container.find("lib", manager: manager)
                #expect(exited.status == .exited && exited.exitCode == 0 && exited.process == nil && exited.supervisor == nil)
                #expect(exited.finished != nil && exited.started != nil && exited.options?.process.hostname == "libbox")
                #expect(try manager.endpoints().isEmpty)
                #expect(try container.wait() == .exited(0), "a second wait returns the same exit")
                let taken = #expect(throws: BerthError.self) {
                    try Container.run(RunOptions(process: ContainerSpec(command: ["true"], rootfs: rootfs.path), name: "lib"), manager: manager)
                }
                #expect(taken?.code == .alreadyExists)
                try Container.remove("lib", manager: manager)
                #expect(try Container.list(manager: manager).isEmpty)
            }
        }
    }

    @Test("stop: SIGTERM ignored by PID 1, SIGKILL after the timeout; a port conflict leaves nothing")
    func stopAndConflict() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let port = try PortSpec(parsing: "8088:80")
                let sleep = ContainerSpec(command: ["sleep", "100"], rootfs: rootfs.path)
                let first = try Container.run(RunOptions(process: sleep, ports: [port], autoRemove: true), manager: manager)
                defer { first.forceRemove(manager: manager) }
                let clash = #expect(throws: BerthError.self) {
                    try Container.run(RunOptions(process: sleep, ports: [port]), manager: manager)
                }
                #expect(clash?.code == .conflict, "\(String(describing: clash))")
                #expect(try Container.list(manager: manager).count == 1)
                #expect(try manager.endpoints().count == 1)

                let clock = ContinuousClock()
                let start = clock.now
                #expect(try first.stop(timeout: .milliseconds(200)) == .signaled(SIGKILL))
                #expect(clock.now - start >= .milliseconds(200))
                #expect(try Container.list(manager: manager).isEmpty)
                #expect(try manager.endpoints().isEmpty)
            }
        }
    }

    @Test("--network none: only lo, up; --network host refuses ports")
    func networkModes() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let out = try OutputPipe()
                // /proc/net/if_inet6 lists ::1 only when lo is up.
                let none = try Container.run(RunOptions(process: ContainerSpec(command: ["cat", "/proc/net/dev", "/proc/net/if_inet6"],
                                                                               rootfs: rootfs.path, stdout: out.write),
                                                        network: .none, autoRemove: true), manager: manager)
                defer { none.forceRemove(manager: manager) }
                out.closeWrite()
                let output = out.readAll()
                #expect(try none.wait() == .exited(0))
                #expect(none.endpoint == nil)
                #expect(output.contains("lo:") && !output.contains("eth0") && output.contains("00000000000000000000000000000001 01"), "\(output)")
                let refused = #expect(throws: BerthError.self) {
                    try Container.run(RunOptions(process: ContainerSpec(command: ["true"], rootfs: rootfs.path), network: .host,
                                                 ports: [try PortSpec(parsing: "80")]), manager: manager)
                }
                #expect(refused?.message == "network host has no bridge to publish ports on")
                #expect(refused?.parameter == "ports")
                let unknown = #expect(throws: BerthError.self) {
                    try Container.run(RunOptions(process: ContainerSpec(command: ["true"], rootfs: rootfs.path), network: .bridge("nosuch")),
                                      manager: manager)
                }
                #expect(unknown?.code == .notFound)
                #expect(unknown?.parameter == "network" && unknown?.object == .network("nosuch"))
                #expect(try Container.list(manager: manager).isEmpty)
            }
        }
    }
}

@Suite("ProcessIdentity")
struct ProcessIdentityTests {
    @Test("/proc/PID/stat: fields counted from the last ')', so a comm with spaces and parentheses parses")
    func statParsing() throws {
        let line = "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100"
        let stat = try #require(ProcStat.parse(Array(line.utf8)[...]))
        #expect(stat.state == UInt8(ascii: "S"))
        #expect(stat.startTime == 987654)
        #expect(ProcStat.parse(Array("1234 (x) S 1 2".utf8)[...]) == nil)
    }

    @Test("this process is alive; the same pid with another start time is not")
    func identity() throws {
        let me = try ProcessIdentity.current()
        #expect(me.isAlive)
        #expect(ProcessIdentity.of(pid: me.pid) == me)
        #expect(!ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).isAlive)
        #expect(try !ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).signal(0))
    }
}
