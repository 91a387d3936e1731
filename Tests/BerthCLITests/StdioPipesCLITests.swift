import BerthTestSupport
import Foundation
import Testing

/// `run -i` and `exec` without a terminal hand the command pipes this process relays, never
/// the caller's own descriptors: one on the caller's terminal could be read from inside the
/// container — by a background process even after the command ends — as Docker relays too.
@Suite("stdio through pipes (CLI)", .enabled(if: try KernelTests.enabled))
struct StdioPipesCLITests {
    private static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    @Test("a host file as stdin and as stdout reaches the command as a pipe; input flows and its end of file arrives")
    func pipesNotDescriptors() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["readlink", "cat", "sleep"]) { rootfs in
                let directory = NSTemporaryDirectory() + "berth-stdio-\(KernelTests.uniqueSuffix())"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let input = directory + "/in", output = directory + "/out"
                try "hello\n".write(toFile: input, atomically: true, encoding: .utf8)
                /// `berth ARGS < in > out` through a shell, so stdin and stdout are the files themselves.
                func redirected(_ args: [String]) throws -> (CommandResult, String) {
                    let line = sandbox.berthArguments(args).map(Self.quote).joined(separator: " ")
                    let result = Command.run(["timeout", "60", "sh", "-c", "\(line) < \(Self.quote(input)) > \(Self.quote(output))"],
                                             environment: sandbox.berthEnvironment())
                    return (result, try String(contentsOfFile: output, encoding: .utf8))
                }
                #expect(sandbox.berth(["run", "-d", "--name", "box", "--network", "none", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)

                let (links, linked) = try redirected(["exec", "-i", "box", "sh", "-c", "readlink /proc/self/fd/0; readlink /proc/self/fd/1"])
                #expect(links.status == 0, "\(links)")
                let ends = linked.split(separator: "\n")
                #expect(ends.count == 2 && ends.allSatisfy { $0.hasPrefix("pipe:[") }, "\(linked)")
                let (cat, echoed) = try redirected(["exec", "-i", "box", "cat"])
                #expect(cat.status == 0 && echoed == "hello\n", "\(cat)")
                let (plain, plainLinks) = try redirected(["exec", "box", "readlink", "/proc/self/fd/1"])
                #expect(plain.status == 0 && plainLinks.hasPrefix("pipe:["), "\(plain) \(plainLinks)")

                let (run, runLinked) = try redirected(["run", "-i", "--rm", "--network", "none", "--rootfs", rootfs.path, "--",
                                                       "sh", "-c", "readlink /proc/self/fd/0; readlink /proc/self/fd/1"])
                #expect(run.status == 0 && runLinked.split(separator: "\n").allSatisfy { $0.hasPrefix("pipe:[") }, "\(run) \(runLinked)")
                let (runCat, runEchoed) = try redirected(["run", "-i", "--rm", "--network", "none", "--rootfs", rootfs.path, "--", "cat"])
                #expect(runCat.status == 0 && runEchoed == "hello\n", "\(runCat)")
                #expect(sandbox.berth(["rm", "-f", "box"]).status == 0)
            }
        }
    }

    @Test("a command run as another user (-u 1000) opens /dev/stdout and /dev/stderr by name, as under runc: its pipes are its user's; the host's file behind berth keeps its owner")
    func stdioOfUser() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs(applets: ["cat", "sleep"]) { rootfs in
                let run = sandbox.berth(["run", "--rm", "-u", "1000", "--network", "none", "--rootfs", rootfs.path, "--",
                                         "sh", "-c", "echo out > /dev/stdout && echo err > /dev/stderr && id -u"])
                #expect(run.status == 0 && run.stdout == "out\n1000\n" && run.stderr == "err\n", "\(run)")
                #expect(sandbox.berth(["run", "-d", "--name", "box", "--network", "none", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                let exec = sandbox.berth(["exec", "-u", "bob", "box", "sh", "-c", "echo err > /dev/stderr"])
                #expect(exec.status == 0 && exec.stderr == "err\n", "\(exec)")
                #expect(sandbox.berth(["rm", "-f", "box"]).status == 0)

                let directory = NSTemporaryDirectory() + "berth-stdio-\(KernelTests.uniqueSuffix())"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let output = directory + "/out"
                let line = sandbox.berthArguments(["run", "--rm", "-u", "1000", "--network", "none", "--rootfs", rootfs.path, "--", "sh", "-c", "echo hi > /dev/stdout"])
                    .map(Self.quote).joined(separator: " ")
                let redirected = Command.run(["timeout", "60", "sh", "-c", "\(line) > \(Self.quote(output))"], environment: sandbox.berthEnvironment())
                #expect(redirected.status == 0 && (try? String(contentsOfFile: output, encoding: .utf8)) == "hi\n", "\(redirected)")
                let owner = try FileManager.default.attributesOfItem(atPath: output)[.ownerAccountID] as? NSNumber
                #expect(owner?.intValue == 0)
            }
        }
    }
}
