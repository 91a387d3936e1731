import BerthCore
import BerthOCIHook
import BerthTestSupport
import Foundation
import Testing

/// How the wrapper finds runc (BERTH_RUNC alone when set; never itself or a wrapper script
/// that runs it) and the path it writes into config.json for the hooks.
@Suite("docker runtime wrapper: finding runc without a loop, and the hook's path")
struct RuntimeWrapperLoopTests {
    /// A fresh directory with `bin/` and a fake runc at `real/runc` that prints its arguments.
    static func scratch(_ name: String) throws -> String {
        let root = NSTemporaryDirectory() + "berth-hook-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"runc $*\"\n".write(toFile: root + "/real/runc", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/real/runc")
        return root
    }

    /// The wrapper run with only `environment`, bounded: a wrapper that ran itself forever
    /// is killed after 20 s (timeout's status 124), never hangs the test.
    static func wrapper(_ path: String, _ arguments: [String], environment: [String]) -> CommandResult {
        Command.run(["/usr/bin/timeout", "-s", "KILL", "20", "/usr/bin/env", "-i"] + environment + [path] + arguments)
    }

    @Test("the wrapper script installed as runc earlier on PATH is skipped, not exec'd in a loop",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func scriptOnPathSkipped() throws {
        let root = try Self.scratch("loop-script")
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try HookInstaller(hookPath: Harness.hookBinary, hooksDirectory: nil, wrapperPath: root + "/bin/runc", stateDirectory: root + "/state").install()
        let run = Self.wrapper(root + "/bin/runc", ["--version"], environment: ["PATH=\(root)/bin:\(root)/real"])
        #expect(run.succeeded && run.stdout == "runc --version\n", "\(run)")
    }

    @Test("any other program on PATH as runc that runs the wrapper again is refused, naming the loop and the fix",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func foreignLoopRefused() throws {
        let root = try Self.scratch("loop-foreign")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        // Someone's own wrapper, not one Berth wrote: the runc it finds first is itself.
        try "#!/bin/sh\nexec '\(Harness.hookBinary)' _runtime \"$@\"\n".write(toFile: root + "/bin/runc", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/bin/runc")
        let run = Self.wrapper(root + "/bin/runc", ["--version"], environment: ["PATH=\(root)/bin:\(root)/real"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr == "berth-oci-runtime: the runc the wrapper ran runs the wrapper again (BERTH_OCI_RUNTIME_WRAPPED is set), which would loop forever "
                + "(set BERTH_RUNC to the real runc's absolute path in the engine's environment, or take whatever runs berth-oci-runtime off PATH under the name runc)\n",
                "\(run)")
        // BERTH_RUNC pointing at the real one is the way out.
        let fixed = Self.wrapper(root + "/bin/runc", ["--version"], environment: ["PATH=\(root)/bin", "BERTH_RUNC=\(root)/real/runc"])
        #expect(fixed.succeeded && fixed.stdout == "runc --version\n", "\(fixed)")
    }

    @Test("BERTH_RUNC, when set, is the only runc: relative, missing or not executable is refused naming it, never PATH's used instead",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func berthRuncAlone() throws {
        let root = try Self.scratch("berth-runc")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "not a program".write(toFile: root + "/plain", atomically: true, encoding: .utf8)
        let path = "PATH=\(root)/real"
        let relative = Self.wrapper(Harness.hookBinary, ["_runtime", "--version"], environment: [path, "BERTH_RUNC=real/runc"])
        #expect(relative.status == 1 && relative.stdout.isEmpty, "\(relative)")
        #expect(relative.stderr.hasPrefix("berth-oci-runtime: BERTH_RUNC=real/runc is not an absolute path"), "\(relative)")
        for bad in [root + "/missing", root + "/plain", root + "/real"] {
            let refused = Self.wrapper(Harness.hookBinary, ["_runtime", "--version"], environment: [path, "BERTH_RUNC=\(bad)"])
            #expect(refused.status == 1 && refused.stdout.isEmpty, "\(refused)")
            #expect(refused.stderr.hasPrefix("berth-oci-runtime: BERTH_RUNC=\(bad) is not an executable file"), "\(refused)")
        }
        let given = Self.wrapper(Harness.hookBinary, ["_runtime", "--version"], environment: ["BERTH_RUNC=\(root)/real/runc"])
        #expect(given.succeeded && given.stdout == "runc --version\n", "\(given)")
    }

    @Test("the hook's path from /proc/self/exe loses \" (deleted)\" when an upgrade put a new file there; with none there it is refused")
    func deletedHookPath() throws {
        #expect(try RuntimeWrapper.hookPath(link: "/usr/bin/berth-oci-hook", executable: { _ in false }) == "/usr/bin/berth-oci-hook")
        var asked: [String] = []
        #expect(try RuntimeWrapper.hookPath(link: "/usr/bin/berth-oci-hook (deleted)", executable: { asked.append($0); return true })
                == "/usr/bin/berth-oci-hook")
        #expect(asked == ["/usr/bin/berth-oci-hook"])
        let gone = try #require(throws: BerthError.self) {
            _ = try RuntimeWrapper.hookPath(link: "/usr/bin/berth-oci-hook (deleted)", executable: { _ in false })
        }
        #expect(gone.code == .notFound && gone.object == .file("/usr/bin/berth-oci-hook"))
        #expect(gone.description.contains("berth-oci-hook was removed while the wrapper ran (/usr/bin/berth-oci-hook (deleted))"), "\(gone.description)")
    }
}
