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
                      ["--version"], ["-v"], [], ["delete", "--force", "poststop"], ["state", "createRuntime"], ["-root", "/r", "run", "prestart"],
                      ["features"], ["--debug", "start", "c1"]])
    func otherNameWrapper(arguments: [String]) {
        #expect(HookRole(name: "berth-runc", arguments: arguments) == .wrapper(arguments: arguments))
        #expect(HookRole(name: "runc", arguments: arguments) == .wrapper(arguments: arguments))
        #expect(HookRole(name: "berth-runc", arguments: ["_runtime"] + arguments) == .wrapper(arguments: arguments))
    }
}
