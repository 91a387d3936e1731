public import BerthCore

/// The files each engine needs to run Berth's hook, as `berth hook install` writes them.
public enum HookFiles {
    /// The name the hook answers to as docker's runtime wrapper (a link to `berth-oci-hook`);
    /// under other names it is the wrapper when its arguments are runc's (`HookRole`).
    public static let runtimeWrapperName = "berth-oci-runtime"

    /// The first argument that makes `berth-oci-hook` docker's runtime wrapper whatever its
    /// name (the wrapper script `berth hook install` writes passes it).
    public static let runtimeWrapperArgument = "_runtime"

    /// Containers carrying any of these annotations get the hook under podman and CRI-O.
    public static let annotationPattern = "^berth\\.(network|publish|ip|ip6|mac)$"

    /// The stages the hook is installed for.
    public static let stages: [HookStage] = [.createRuntime, .poststop]

    /// The `timeout` of the hooks Berth installs, in seconds: longer than a hook may wait for
    /// Berth's state lock (`HookNetwork.totalLockWait`: until 30 s after it opens the state) and then work, so a hook
    /// waiting for the lock says why it failed instead of being killed mid-wait; and a
    /// hook that hangs is killed, not waited for by the runtime forever (runc, crun and
    /// podman have no timeout of their own).
    ///
    /// Written out rather than computed from BerthNetwork's `StateStore`, so the decoders and
    /// the docker wrapper's rewrite build without the kernel modules (scripts/fuzz-oci-hook
    /// compiles them alone); `RuntimeWrapperTests` pins it to the lock's wait plus 10 s.
    public static let timeout = 40

    /// One hook entry of config.json's `hooks` (OCI runtime spec): `path`, `args` (the
    /// hook's name and `stage`), `env` (its whole environment) and `timeout`.
    public static func entry(hookPath: String, stage: HookStage, environment: [String]) -> JSONValue {
        [
            "path": .string(hookPath),
            "args": ["berth-oci-hook", .string(stage.rawValue)],
            "env": .array(environment.map(JSONValue.string)),
            "timeout": .integer(Int64(timeout)),
        ]
    }

    /// oci-hooks(5) files, one per stage (a hook learns its stage from its arguments):
    /// `50-berth-createRuntime.json` and `50-berth-poststop.json`. `environment` is the
    /// hook's whole environment (`BERTH_STATE_DIR=…` when the state is not in /var/lib/berth);
    /// the hook's `timeout` is `timeout`.
    public static func podman(hookPath: String, environment: [String] = []) -> [(name: String, contents: String)] {
        stages.map { stage in
            let file: JSONValue = [
                "version": "1.0.0",
                "hook": entry(hookPath: hookPath, stage: stage, environment: environment),
                "when": ["annotations": .object([(annotationPattern, .string(".*"))])],
                "stages": [.string(stage.rawValue)],
            ]
            return ("50-berth-\(stage.rawValue).json", file.render(pretty: true) + "\n")
        }
    }

    /// The `runtimes` member of docker's daemon.json that registers the wrapper as `berth`.
    public static func dockerDaemonJSON(wrapperPath: String) -> String {
        let json: JSONValue = ["runtimes": ["berth": ["path": .string(wrapperPath)]]]
        return json.render(pretty: true)
    }
}
