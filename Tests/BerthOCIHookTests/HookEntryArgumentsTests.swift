import BerthOCIHook
import BerthTestSupport
import Foundation
import Testing

/// A hook entry's `args` start with the program's name (argv[0]); one that leaves it out
/// runs the binary under the stage's name with no argument. That must fail, not make the
/// binary docker's runc wrapper run without arguments, which would let the runtime start the
/// container without its network.
@Suite("berth-oci-hook run with no argument, as a hook entry without the program's name runs it")
struct HookEntryArgumentsTests {
    /// A directory with links to the hook binary under `names`.
    static func links(_ names: [String]) throws -> String {
        let root = NSTemporaryDirectory() + "berth-hook-args-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for name in names { try FileManager.default.createSymbolicLink(atPath: root + "/" + name, withDestinationPath: Harness.hookBinary) }
        return root
    }

    /// Runs `program` as a runtime runs a hook: no arguments, the state on stdin, only the
    /// entry's environment. `BERTH_RUNC=/bin/true` keeps a wrongly chosen wrapper harmless
    /// (it would exit 0, which is what the test must not see).
    static func runAsHook(_ program: String) -> CommandResult {
        Command.run(["/usr/bin/timeout", "-s", "KILL", "20", "/usr/bin/env", "-i", "BERTH_RUNC=/bin/true", program],
                    input: #"{"ociVersion":"1.0.2","id":"web","status":"creating","pid":1,"bundle":"/nonexistent"}"#)
    }

    @Test("\"args\": [\"createRuntime\"]: exit 2 naming args[0] and the right form, nothing run",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func stageAsProgramName() throws {
        let root = try Self.links(["createRuntime", "poststop"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let run = Self.runAsHook(root + "/createRuntime")
        #expect(run.status == 2 && run.stdout.isEmpty, "\(run)")
        #expect(run.stderr == #"berth-oci-hook: called as createRuntime with no stage: in a hook entry "args"[0] is the program's name, not its first argument, so the stage was lost (write "args": ["berth-oci-hook", "createRuntime"])"# + "\n",
                "\(run)")
        let poststop = Self.runAsHook(root + "/poststop")
        #expect(poststop.status == 2 && poststop.stderr.contains(#"(write "args": ["berth-oci-hook", "poststop"])"#), "\(poststop)")
    }

    @Test("no argument under another name, stdin not a terminal: the hook's usage error (exit 2), not runc run without arguments",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Harness.hookBinary)))
    func noArgumentsUnderAnotherName() throws {
        let root = try Self.links(["berth-runc"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let run = Self.runAsHook(root + "/berth-runc")
        #expect(run.status == 2 && run.stdout.isEmpty, "\(run)")
        #expect(run.stderr.hasPrefix(#"berth-oci-hook: no stage given (in a hook entry "args"[0] is the program's name: "args": ["berth-oci-hook", "createRuntime"])"#),
                "\(run)")
        // Under the hook's own name, the same.
        let own = Self.runAsHook(Harness.hookBinary)
        #expect(own.status == 2 && own.stderr.hasPrefix("berth-oci-hook: no stage given"), "\(own)")
    }
}
