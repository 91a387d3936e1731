import BerthNetwork

/// Which of its two programs `berth-oci-hook` is on a call: the OCI hook, or docker's runc
/// wrapper (`RuntimeWrapper`).
///
/// The name it was called by (argv[0]'s last component) decides when it is one of the two
/// Berth installs: `berth-oci-runtime` is the wrapper, `berth-oci-hook` the hook. Under any
/// other name — a wrapper installed as `berth-runc`, which dockerd's containerd runs with
/// argv[0] that path — the first argument decides, since a hook's and runc's never meet: a
/// hook stage (`createRuntime`, `poststop`, …), `_checkpoint`, `--state-dir` or `-h`/`--help`
/// make it the hook; anything else (runc's global options and commands, `--version`, which
/// dockerd asks runc, or nothing) makes it the wrapper. `_runtime` as the first argument (the
/// wrapper script `berth hook install` writes) makes it the wrapper under any name, runc's
/// arguments after it.
public enum HookRole: Sendable, Hashable {
    /// The OCI hook: a stage and its options.
    case hook
    /// The runc wrapper, with runc's arguments.
    case wrapper(arguments: [String])

    /// The hook's own name, as runtimes call it.
    public static let hookName = "berth-oci-hook"

    /// The role for a program called `name` (argv[0]'s last component) with `arguments`.
    public init(name: String, arguments: [String]) {
        if name == HookFiles.runtimeWrapperName {
            self = .wrapper(arguments: arguments)
        } else if arguments.first == HookFiles.runtimeWrapperArgument {
            self = .wrapper(arguments: Array(arguments.dropFirst()))
        } else if name == Self.hookName || arguments.first.map(Self.isHookArgument) == true {
            self = .hook
        } else {
            self = .wrapper(arguments: arguments)
        }
    }

    /// Whether `word`, a first argument, is one only the hook takes.
    static func isHookArgument(_ word: String) -> Bool {
        HookStage(rawValue: word) != nil || word == CheckpointLauncher.command || word == "-h" || word == "--help"
            || word == "--state-dir" || word.hasPrefix("--state-dir=")
    }
}
