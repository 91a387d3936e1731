import BerthTestSupport
import Foundation
import Testing

/// examples/make-web-rootfs.sh, which README and docs/run.md have people run: it copies the
/// host's busybox (no download) and links its applets — the web node's five, or every one
/// with --all-applets (run.md's `sleep`, `ls`, … examples need them).
@Suite("examples/make-web-rootfs.sh", .enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/busybox")))
struct MakeRootfsScriptTests {
    static let script = LabExamplesKernelTests.examples + "/make-web-rootfs.sh"

    private func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "berth-make-rootfs-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    private func links(_ root: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: root + "/bin").filter { $0 != "busybox" })
    }

    @Test("--all-applets DIR links every applet busybox --list names, beside a copy of busybox; the page says hello")
    func allApplets() throws {
        try withDirectory { directory in
            let made = Command.run(["sh", Self.script, "--all-applets", directory + "/busybox"])
            try #require(made.succeeded, "\(made)")
            let listed = Set(Command.run(["/bin/busybox", "--list"]).stdout.split(separator: "\n").map(String.init)).subtracting(["busybox"])
            #expect(try links(directory + "/busybox") == listed && listed.contains("sleep"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/busybox/bin/sleep") == "busybox")
            #expect(FileManager.default.contentsEqual(atPath: directory + "/busybox/bin/busybox", andPath: "/bin/busybox"))
            #expect(try String(contentsOfFile: directory + "/busybox/www/index.html", encoding: .utf8) == "hello\n")
            for dir in ["etc", "tmp"] { #expect(FileManager.default.fileExists(atPath: directory + "/busybox/" + dir)) }
        }
    }

    @Test("without --all-applets: the web node's applets only; an unknown option or two directories are refused with the usage")
    func webApplets() throws {
        try withDirectory { directory in
            let made = Command.run(["sh", Self.script, directory + "/web"])
            try #require(made.succeeded, "\(made)")
            #expect(try links(directory + "/web") == ["sh", "httpd", "ps", "ip", "cat"])
            let bogus = Command.run(["sh", Self.script, "--bogus"])
            #expect(bogus.status == 2 && bogus.stderr.contains("usage:") && bogus.stderr.contains("[--all-applets] [DIR]"), "\(bogus)")
            #expect(Command.run(["sh", Self.script, directory + "/a", directory + "/b"]).status == 2)
            #expect(!FileManager.default.fileExists(atPath: directory + "/a"))
        }
    }
}

/// docs/run.md's `sleep` examples in the root filesystem it says to make.
@Suite("examples/make-web-rootfs.sh --all-applets under berth run (kernel)", .enabled(if: try KernelTests.enabled),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/busybox")))
struct MakeRootfsRunKernelTests {
    @Test("berth run runs sleep and ls in it")
    func sleepRuns() throws {
        let directory = NSTemporaryDirectory() + "berth-make-rootfs-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = Command.run(["sh", MakeRootfsScriptTests.script, "--all-applets", directory])
        try #require(made.succeeded, "\(made)")
        try withHostSandbox { sandbox in
            let run = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", directory, "--", "sh", "-c", "sleep 0 && ls /www"])
            #expect(run.succeeded && run.stdout == "index.html\n", "\(run)")
        }
    }
}
