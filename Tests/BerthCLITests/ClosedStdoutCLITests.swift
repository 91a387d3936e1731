import BerthTestSupport
import Foundation
import Testing

/// A reader that went away before berth printed (`berth attach … | true`, a runtime that
/// closed its end of the pipe) fails berth's write, not berth: the command's own success
/// decides its exit status. Before, SIGPIPE killed berth (exit 141) after the attach had
/// committed, so the runtime saw a failure for an endpoint that existed.
@Suite("berth CLI: a closed stdout (kernel)", .enabled(if: try KernelTests.enabled))
struct ClosedStdoutCLITests {
    /// Runs `berth ARGS` in the sandbox with a stdout pipe whose read end is closed before
    /// berth starts: its first write meets no reader, whenever it comes.
    private func runWithClosedStdout(_ sandbox: HostSandbox, _ args: [String]) throws -> (reason: Process.TerminationReason, status: Int32, stderr: String) {
        let argv = sandbox.berthArguments(args)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment()) { _, sandbox in sandbox }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try out.fileHandleForReading.close()
        try process.run()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, String(decoding: errors, as: UTF8.self))
    }

    @Test("lean berth attach with its stdout closed: exit 0, the endpoint exists, its interface is inside")
    func attach() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            let attach = try runWithClosedStdout(sandbox, ["attach", "web", "--netns", ns, "--id", "e1"])
            #expect(attach.reason == .exit && attach.status == 0 && attach.stderr.isEmpty, "\(attach)")
            let ps = sandbox.berth(["ps", "--json"])
            #expect(ps.stdout.contains("\"e1\""), "\(ps)")
            #expect(sandbox.run(["ip", "-n", ns, "-br", "addr", "show", "eth0"]).stdout.contains("10.9.0.2/24"))
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }

    @Test("berth-cli commands with their stdout closed: network create exits 0 and the network exists; ls exits 0")
    func fullCLI() throws {
        try withHostSandbox { sandbox in
            let create = try runWithClosedStdout(sandbox, ["network", "create", "web", "--subnet", "10.9.0.0/24"])
            #expect(create.reason == .exit && create.status == 0, "\(create)")
            #expect(sandbox.berth(["network", "ls", "-q"]).stdout == "web\n")
            let list = try runWithClosedStdout(sandbox, ["network", "ls", "--json"])
            #expect(list.reason == .exit && list.status == 0, "\(list)")
        }
    }
}
