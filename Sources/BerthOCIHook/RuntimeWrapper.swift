public import BerthCore

/// `berth-oci-runtime`: runc plus Berth's hooks, for engines that cannot add OCI hooks
/// themselves (dockerd: `--add-runtime berth=PATH`, or `runtimes` in daemon.json).
///
/// On `create`, `run` and `restore`, it reads the bundle's config.json; when the container asks for
/// Berth — a `BERTH_NETWORK`, `BERTH_PUBLISH`, `BERTH_IP`, `BERTH_IP6` or `BERTH_MAC` variable in its
/// environment (docker 20.10 has no `--annotation`, so `docker run -e` carries them) or a
/// `berth.*` annotation — it turns the variables into annotations, adds `createRuntime`
/// and `poststop` hooks running `berth-oci-hook`, and writes the file back. Then it execs
/// runc with the same arguments. Every other call goes to runc untouched.
public enum RuntimeWrapper {
    /// The environment variables the wrapper turns into annotations.
    public static let variables: [(variable: String, annotation: String)] = [
        ("BERTH_NETWORK", HookAnnotations.network), ("BERTH_PUBLISH", HookAnnotations.publish),
        ("BERTH_IP", HookAnnotations.ip), ("BERTH_IP6", HookAnnotations.ip6), ("BERTH_MAC", HookAnnotations.mac),
        ("BERTH_NAME", HookAnnotations.name), ("BERTH_ALIASES", HookAnnotations.aliases),
    ]

    /// runc's global options that take a value (runc 1.1), by name; the rest are flags.
    static let globalOptionsWithValue: Set = ["log", "log-format", "root", "criu", "rootless"]

    /// runc's subcommands (runc 1.1, with `help`'s alias `h`).
    static let commands: Set = ["checkpoint", "create", "delete", "events", "exec", "features", "init", "kill", "list", "pause", "ps",
                                "restore", "resume", "run", "spec", "start", "state", "update", "help", "h"]

    /// The subcommands that make a container from a bundle.
    static let creatingCommands: Set = ["create", "run", "restore"]

    /// The runc subcommand and the bundle directory of a runc command line.
    public struct Invocation: Sendable, Hashable {
        /// The runc subcommand (`create`, `start`, …); nil when the command line names none.
        public var command: String?
        /// `--bundle`/`-b` of `create`, `run` and `restore`; nil means the working directory,
        /// and so does an empty value, as runc takes it (`--bundle=`).
        public var bundle: String?
        /// Whether the command makes a container from a bundle (`restore` makes one from a
        /// checkpoint and the bundle's config.json).
        public var createsContainer: Bool { command.map(creatingCommands.contains) ?? false }
    }

    /// An option as Go's flag package (through runc's urfave/cli) reads it: one dash or
    /// two, then the name, then `=value` or nothing. Nil for an argument that is no option
    /// (`-` alone is one, and so is `--`, which ends the options and is handled by the caller).
    static func option(_ word: String) -> (name: Substring, value: Substring?)? {
        guard word.hasPrefix("-"), word != "-", word != "--" else { return nil }
        var rest = word.dropFirst()
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        guard let equals = rest.firstIndex(of: "=") else { return (rest, nil) }
        return (rest[..<equals], rest[rest.index(after: equals)...])
    }

    /// Finds the subcommand and, for `create`/`run`/`restore`, the bundle, in runc's arguments.
    /// Options are read as runc reads them: `--root X`, `-root X`, `--root=X` and `-root=X`
    /// are one option; `--bundle`, `-bundle`, `--b` and `-b` are the bundle.
    public static func parse(_ arguments: [String]) -> Invocation {
        var invocation = Invocation()
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            if invocation.command == nil {
                if let parsed = option(word) {
                    if parsed.value == nil, globalOptionsWithValue.contains(String(parsed.name)) { index += 1 }
                } else if word != "--" {
                    invocation.command = word
                }
            } else if invocation.createsContainer {
                if word == "--" { break }
                if let parsed = option(word), parsed.name == "bundle" || parsed.name == "b" {
                    if let value = parsed.value {
                        invocation.bundle = value.isEmpty ? nil : String(value)
                    } else if index + 1 < arguments.endIndex {
                        invocation.bundle = arguments[index + 1].isEmpty ? nil : arguments[index + 1]
                        index += 1
                    }
                }
            }
            index += 1
        }
        return invocation
    }

    /// `parse`, refusing a command line it cannot read that may make a container: no
    /// subcommand runc has where `create`, `run` or `restore` is among the arguments (a
    /// global option of a newer runc that takes a value, say). Passed to runc as it is,
    /// such a container would run without the network it asked for, and nobody told.
    public static func invocation(_ arguments: [String]) throws(BerthError) -> Invocation {
        let invocation = parse(arguments)
        if invocation.command.map(commands.contains) != true, let word = arguments.first(where: creatingCommands.contains) {
            throw BerthError(.invalidArgument, "cannot read runc's command line \(arguments.joined(separator: " ")): "
                + (invocation.command.map { "\"\($0)\" is no runc command" } ?? "no runc command found")
                + ", yet \"\(word)\" is among the arguments, so a container may be made without the hooks it asks for",
                hint: "call the wrapper with runc's options as runc 1.1 has them, or run the container with runc itself",
                parameter: "arguments")
        }
        return invocation
    }

    /// The config with Berth's annotations and hooks added, or nil when the container does
    /// not ask for Berth (then the file stays as it is).
    ///
    /// A `berth.*` annotation already in the config wins over the variable for it. The hooks
    /// are appended after the engine's own, with a `timeout` (`HookFiles.timeout`); `hookEnvironment`
    /// is their whole environment (a runtime gives hooks nothing else, not even PATH). A
    /// config that has this hook for a stage already (it passed through the wrapper before)
    /// gets it replaced, environment and all, not a second one.
    public static func rewrite(_ config: JSONValue, hookPath: String, hookEnvironment: [String]) throws(BerthError) -> JSONValue? {
        guard case .object(var members) = config else {
            throw BerthError(.invalidArgument, "config.json is not a JSON object")
        }
        let environment = config["process"]?["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var annotations = config["annotations"]?.objectValue ?? []
        var asked = annotations.contains { HookAnnotations.all.contains($0.0) }
        for (variable, annotation) in variables {
            let prefix = variable + "="
            guard let entry = environment.last(where: { $0.hasPrefix(prefix) }) else { continue }
            asked = true
            if !annotations.contains(where: { $0.0 == annotation }) {
                annotations.append((annotation, .string(String(entry.dropFirst(prefix.count)))))
            }
        }
        guard asked else { return nil }
        // Every integer is written back as it was read (JSONValue keeps one beyond Int64 as
        // its text: docker's unlimited rlimits are uint64 max).
        set(&members, "annotations", .object(annotations))

        var hooks = config["hooks"]?.objectValue ?? []
        for stage in HookFiles.stages {
            var list = hooks.first { $0.0 == stage.rawValue }?.1.arrayValue ?? []
            let hook = HookFiles.entry(hookPath: hookPath, stage: stage, environment: hookEnvironment)
            // A config that passed through the wrapper before (a restarted container) has
            // this hook for the stage already, perhaps with another environment or none of
            // the timeout: it is replaced where it stands, and any second one dropped.
            let ours = { (entry: JSONValue) in entry["path"]?.stringValue == hookPath && entry["args"]?[1]?.stringValue == stage.rawValue }
            if let first = list.firstIndex(where: ours) {
                list[first] = hook
                list = list.enumerated().filter { $0.offset == first || !ours($0.element) }.map(\.element)
            } else {
                list.append(hook)
            }
            set(&hooks, stage.rawValue, .array(list))
        }
        set(&members, "hooks", .object(hooks))
        return .object(members)
    }

    /// Replaces member `key`, or appends it.
    static func set(_ members: inout [(String, JSONValue)], _ key: String, _ value: JSONValue) {
        if let index = members.firstIndex(where: { $0.0 == key }) {
            members[index].1 = value
        } else {
            members.append((key, value))
        }
    }

    /// The variables from the wrapper's own environment that hooks inherit: where Berth's
    /// state is (`BERTH_STATE_DIR`), so the engine's daemon can point hooks at it.
    public static let inheritedVariables = ["BERTH_STATE_DIR"]
}
