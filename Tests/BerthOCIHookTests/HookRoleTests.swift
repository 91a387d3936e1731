import BerthOCIHook
import Testing

@Suite("berth-oci-hook's role: the hook or docker's runtime wrapper")
struct HookRoleTests {
    @Test("by name: berth-oci-runtime is the wrapper whatever its arguments, berth-oci-hook the hook unless _runtime comes first")
    func byName() {
        #expect(HookRole(name: "berth-oci-runtime", arguments: ["createRuntime"]) == .wrapper(arguments: ["createRuntime"]))
        #expect(HookRole(name: "berth-oci-runtime", arguments: ["--root", "/r", "create", "c1"]) == .wrapper(arguments: ["--root", "/r", "create", "c1"]))
        #expect(HookRole(name: "berth-oci-hook", arguments: ["createRuntime"]) == .hook)
        #expect(HookRole(name: "berth-oci-hook", arguments: ["--root", "/r", "create"]) == .hook)
        #expect(HookRole(name: "berth-oci-hook", arguments: []) == .hook)
        #expect(HookRole(name: "berth-oci-hook", arguments: ["_runtime", "--root", "/r", "delete", "c1"]) == .wrapper(arguments: ["--root", "/r", "delete", "c1"]))
    }

    @Test("under any other name, a hook stage, _checkpoint, --state-dir or --help make it the hook",
          arguments: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "_checkpoint",
                      "--state-dir", "--state-dir=/srv/berth", "-h", "--help"])
    func otherNameHook(first: String) {
        #expect(HookRole(name: "berth-runc", arguments: [first, "x"]) == .hook)
        #expect(HookRole(name: "hook", arguments: [first]) == .hook)
    }

    @Test("under any other name, a word neither takes is the hook's (its usage error), never a runc run with the state on stdin",
          arguments: ["prestar", "CreateRuntime", "--frobnicate", "---root", "c1"])
    func otherNameUnknown(first: String) {
        #expect(HookRole(name: "berth-runc", arguments: [first]) == .hook)
    }

    @Test("under any other name, runc's arguments make it the wrapper: the way containerd's shim, dockerd and people call runc",
          arguments: [["--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/x/log.json", "--log-format", "json", "create", "--bundle", "/b", "c1"],
                      ["--version"], ["-v"], ["delete", "--force", "poststop"], ["state", "createRuntime"], ["-root", "/r", "run", "prestart"],
                      ["features"], ["--debug", "start", "c1"]])
    func otherNameWrapper(arguments: [String]) {
        #expect(HookRole(name: "berth-runc", arguments: arguments) == .wrapper(arguments: arguments))
        #expect(HookRole(name: "runc", arguments: arguments) == .wrapper(arguments: arguments))
        #expect(HookRole(name: "berth-runc", arguments: ["_runtime"] + arguments) == .wrapper(arguments: arguments))
    }

    @Test("no argument is the hook (its usage error) unless stdin is a terminal: a runtime never runs runc without arguments, and always fills a hook's stdin")
    func noArguments() {
        for name in ["berth-runc", "runc", "hook", "createRuntime", "poststop"] {
            #expect(HookRole(name: name, arguments: []) == .hook, "\(name)")
            #expect(HookRole(name: name, arguments: [], standardInputIsTerminal: false) == .hook, "\(name)")
        }
        // A person at a terminal gets runc's usage from a wrapper under another name.
        #expect(HookRole(name: "berth-runc", arguments: [], standardInputIsTerminal: true) == .wrapper(arguments: []))
        // Unambiguous: the wrapper by its name, or by _runtime, with or without arguments.
        #expect(HookRole(name: "berth-oci-runtime", arguments: []) == .wrapper(arguments: []))
        #expect(HookRole(name: "berth-runc", arguments: ["_runtime"]) == .wrapper(arguments: []))
        // A stage's name is the hook's at a terminal too.
        #expect(HookRole(name: "createRuntime", arguments: [], standardInputIsTerminal: true) == .hook)
        #expect(HookRole(name: "createRuntime", arguments: ["--state-dir", "/srv/berth"]) == .hook)
    }

    @Test("a program name that is a stage (args[0] left out of the hook entry) gets the message naming the right form")
    func stageAsProgramName() {
        #expect(HookRole.stageAsProgramName("createRuntime")
                == #"berth-oci-hook: called as createRuntime with no stage: in a hook entry "args"[0] is the program's name, not its first argument, so the stage was lost (write "args": ["berth-oci-hook", "createRuntime"])"#)
        #expect(HookRole.stageAsProgramName("poststop")?.hasSuffix(#"(write "args": ["berth-oci-hook", "poststop"])"#) == true)
        #expect(HookRole.stageAsProgramName("berth-runc") == nil)
        #expect(HookRole.stageAsProgramName("berth-oci-hook") == nil)
    }
}
