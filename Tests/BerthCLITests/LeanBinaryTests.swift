import BerthTestSupport
import Foundation
import Testing

/// The lean `berth` runs attach, detach and `--version` itself and hands everything else to
/// `berth-cli` beside it: what a user sees — help, usage errors, exit codes — must be
/// exactly what `berth-cli` prints. None of these arguments reaches the kernel or the state.
@Suite("lean berth and berth-cli")
struct LeanBinaryTests {
    private var cli: String {
        URL(fileURLWithPath: Command.berthBinary).deletingLastPathComponent().appendingPathComponent("berth-cli").path
    }

    @Test("berth reads as berth-cli: same output and exit status", arguments: [
        ["--version"], ["--help"], [], ["help", "attach"], ["attach", "--help"], ["detach", "-h"], ["network", "--help"],
        ["attach"], ["attach", "web"], ["attach", "web", "--netns"], ["attach", "web", "--netns", "ns", "--bogus", "x"],
        ["detach"], ["detach", "a", "--state-dir"], ["nosuch"], ["network", "create"], ["run", "--help"],
    ])
    func sameAsFullCLI(arguments: [String]) {
        let lean = Command.run([Command.berthBinary] + arguments)
        let full = Command.run([cli] + arguments)
        #expect(lean.status == full.status, "\(lean)\n---\n\(full)")
        #expect(lean.stdout == full.stdout)
        #expect(lean.stderr == full.stderr)
    }

    @Test("usage errors keep argument-parser's exit status 64")
    func usageStatus() {
        #expect(Command.run([Command.berthBinary, "attach", "web"]).status == 64)
        #expect(Command.run([Command.berthBinary, "nosuch"]).status == 64)
    }

    @Test("without berth-cli beside it, berth names the missing binary and exits 127 (125 for run and exec); --version still works")
    func missingFullCLI() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-lean-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("berth").path
        try FileManager.default.copyItem(atPath: Command.berthBinary, toPath: copy)

        let help = Command.run([copy, "--help"])
        #expect(help.status == 127, "\(help)")
        #expect(help.stdout.isEmpty)
        #expect(help.stderr.hasPrefix("berth: cannot run \(directory.path)/berth-cli: No such file or directory"), "\(help)")
        #expect(help.stderr.contains("install both from the same build"))

        // run and exec keep 126 and 127 for the container's command: berth-cli missing is berth's failure, 125.
        for command in [["run", "--rm", "--", "true"], ["exec", "web", "true"]] {
            let container = Command.run([copy] + command)
            #expect(container.status == 125 && container.stdout.isEmpty
                    && container.stderr.hasPrefix("berth: cannot run \(directory.path)/berth-cli: No such file or directory"), "\(container)")
        }
        #expect(Command.run([copy, "ps"]).status == 127)

        let version = Command.run([copy, "--version"])
        #expect(version.status == 0)
        #expect(version.stdout == Command.run([cli, "--version"]).stdout)
    }
}
