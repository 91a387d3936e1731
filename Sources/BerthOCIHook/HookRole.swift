import BerthNetwork

/// Which of its two programs `berth-oci-hook` is on a call: the OCI hook, or docker's runc
/// wrapper (`RuntimeWrapper`).
///
/// The name it was called by (argv[0]'s last component) decides when it is one of the two
/// Berth installs: `berth-oci-runtime` is the wrapper, `berth-oci-hook` the hook. Under any
/// other name — a wrapper installed as `berth-runc`, which dockerd's containerd runs with
/// argv[0] that path — the first argument decides, since a hook's and runc's never meet: a
/// hook stage (`createRuntime`, `poststop`, …), `_checkpoint`, `--state-dir` or `-h`/`--help`
/// make it the hook; runc's global options and commands (`--version` too, which dockerd asks
/// runc) make it the wrapper; any other word is the hook's (a usage error). `_runtime` as the first argument (the
/// wrapper script `berth hook install` writes) makes it the wrapper under any name, runc's
/// arguments after it.
///
/// No argument at all is the hook's — a usage error — unless stdin is a terminal: a runtime
/// always writes the state to a hook's stdin, and never runs runc without arguments, so the
/// empty call that is not a person's at a terminal is a hook entry whose `args` left out the
/// program's name (`"args": ["createRuntime"]` runs it as `createRuntime` with nothing after),
/// which as a runc run would start the container without its network, and nobody told. A
/// program name that is a stage name is that entry, terminal or not.
public enum HookRole: Sendable, Hashable {
    /// The OCI hook: a stage and its options.
    case hook
    /// The runc wrapper, with runc's arguments.
    case wrapper(arguments: [String])

    /// The hook's own name, as runtimes call it.
    public static let hookName = "berth-oci-hook"

    /// The role for a program called `name` (argv[0]'s last component) with `arguments`;
    /// `standardInputIsTerminal` is asked only when there are no arguments.
    public init(name: String, arguments: [String], standardInputIsTerminal: @autoclosure () -> Bool = false) {
        if name == HookFiles.runtimeWrapperName {
            self = .wrapper(arguments: arguments)
        } else if arguments.first == HookFiles.runtimeWrapperArgument {
            self = .wrapper(arguments: Array(arguments.dropFirst()))
        } else if name == Self.hookName || HookStage(rawValue: name) != nil || arguments.first.map(Self.isHookArgument) == true {
            self = .hook
        } else if let first = arguments.first {
            // Neither's: a mistyped stage (`prestar`) gets the hook's usage error, not a runc
            // run with the OCI state on its stdin.
            self = Self.isRuntimeArgument(first) ? .wrapper(arguments: arguments) : .hook
        } else {
            // Nothing: runc's own usage for a person at a terminal; from a runtime, a hook
            // entry that lost its stage (see the type's comment), refused by the hook.
            self = standardInputIsTerminal() ? .wrapper(arguments: []) : .hook
        }
    }

    /// The usage error of the hook called without a stage under a name that is one: a hook
    /// entry whose `args` left out the program's name (`"args": ["createRuntime"]`), which
    /// the runtime runs with argv[0] the stage and nothing after it. Nil for any other name.
    public static func stageAsProgramName(_ name: String) -> String? {
        guard HookStage(rawValue: name) != nil else { return nil }
        return "berth-oci-hook: called as \(name) with no stage: in a hook entry \"args\"[0] is the program's name, not its first argument, "
            + "so the stage was lost (write \"args\": [\"\(hookName)\", \"\(name)\"])"
    }

    /// runc's global options (one dash or two, urfave/cli takes both; a value after '=' or
    /// as the next word) and commands: a first argument that makes it the wrapper.
    static let runtimeOptions: Set<String> = ["root", "log", "log-format", "criu", "systemd-cgroup", "rootless", "debug", "version", "v", "help", "h"]
    static let runtimeCommands: Set<String> = ["checkpoint", "create", "delete", "events", "exec", "init", "kill", "list", "pause", "ps",
                                               "restore", "resume", "run", "spec", "start", "state", "update", "features", "help"]

    /// Whether `word`, a first argument, is one of runc's.
    static func isRuntimeArgument(_ word: String) -> Bool {
        guard word.hasPrefix("-") else { return runtimeCommands.contains(word) }
        let option = word.drop { $0 == "-" }.prefix { $0 != "=" }
        return word.prefix(3) != "---" && runtimeOptions.contains(String(option))
    }

    /// The usage error for the hook called by its own name with runc's arguments — the
    /// hook itself registered as docker's runtime (`--add-runtime berth=…/berth-oci-hook`),
    /// which containerd then runs as runc — or nil for any other first argument. (`help`
    /// and `-h` are left to the usage.) `program` is argv[0], read only for the message.
    public static func runtimeMisregistered(_ arguments: [String], program: @autoclosure () -> String) -> String? {
        guard let first = arguments.first, first != "help", first != "h", !isHookArgument(first), isRuntimeArgument(first) else { return nil }
        // containerd runs a runtime by the path it was registered with: the wrapper the
        // installer links is beside it.
        let program = program()
        let wrapper = (program.lastIndex(of: "/").map { String(program[...$0]) } ?? "") + HookFiles.runtimeWrapperName
        return "berth-oci-hook: called with runc's arguments (\(arguments.prefix(4).joined(separator: " "))\(arguments.count > 4 ? " …" : "")): "
            + "berth-oci-hook itself is registered as a runtime, which must be the runc wrapper \(HookFiles.runtimeWrapperName) "
            + "('berth hook install' links it beside the hook): register berth=\(wrapper) with dockerd's --add-runtime or \"runtimes\" in daemon.json"
    }

    /// Whether `word`, a first argument, is one only the hook takes.
    static func isHookArgument(_ word: String) -> Bool {
        HookStage(rawValue: word) != nil || word == CheckpointLauncher.command || word == "-h" || word == "--help"
            || word == "--state-dir" || word.hasPrefix("--state-dir=")
    }
}
