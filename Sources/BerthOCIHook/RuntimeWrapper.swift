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
    ]

    /// runc's global options that take a value (runc 1.1); the rest are flags.
    static let globalOptionsWithValue: Set = ["--log", "--log-format", "--root", "--criu", "--rootless"]

    /// The runc subcommand and the bundle directory of a runc command line.
    public struct Invocation: Sendable, Hashable {
        public var command: String?
        /// `--bundle`/`-b` of `create`, `run` and `restore`; nil means the working directory.
        public var bundle: String?
        /// Whether the command makes a container from a bundle (`restore` makes one from a
        /// checkpoint and the bundle's config.json).
        public var createsContainer: Bool { command == "create" || command == "run" || command == "restore" }
    }

    /// Finds the subcommand and, for `create`/`run`/`restore`, the bundle, in runc's arguments.
    public static func parse(_ arguments: [String]) -> Invocation {
        var invocation = Invocation()
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            if invocation.command == nil {
                if globalOptionsWithValue.contains(word) {
                    index += 2
                    continue
                }
                if !word.hasPrefix("-") { invocation.command = word }
            } else if invocation.createsContainer {
                if word == "--" { break }
                if word == "--bundle" || word == "-b" {
                    if index + 1 < arguments.endIndex { invocation.bundle = arguments[index + 1] }
                    index += 2
                    continue
                }
                for prefix in ["--bundle=", "-b="] where word.hasPrefix(prefix) {
                    invocation.bundle = String(word.dropFirst(prefix.count))
                }
            }
            index += 1
        }
        return invocation
    }

    /// The config with Berth's annotations and hooks added, or nil when the container does
    /// not ask for Berth (then the file stays as it is).
    ///
    /// A `berth.*` annotation already in the config wins over the variable for it. The hooks
    /// are appended after the engine's own; `hookEnvironment` is their whole environment
    /// (a runtime gives hooks nothing else, not even PATH).
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
        // JSONValue keeps integers exact up to Int64; a larger one (a uint64 limit) would be
        // written back as a rounded float that runc cannot read. Refuse rather than corrupt.
        if let number = firstInexactInteger(config) {
            throw BerthError(.unsupported, "config.json holds the integer \(number), beyond what the wrapper rewrites exactly",
                             object: BerthError.Object(.file, "config.json"))
        }
        set(&members, "annotations", .object(annotations))

        var hooks = config["hooks"]?.objectValue ?? []
        for stage in [HookStage.createRuntime, .poststop] {
            var list = hooks.first { $0.0 == stage.rawValue }?.1.arrayValue ?? []
            let hook: JSONValue = [
                "path": .string(hookPath),
                "args": ["berth-oci-hook", .string(stage.rawValue)],
                "env": .array(hookEnvironment.map(JSONValue.string)),
            ]
            // A config that passed through the wrapper before (a restarted container) has them.
            if !list.contains(hook) { list.append(hook) }
            set(&hooks, stage.rawValue, .array(list))
        }
        set(&members, "hooks", .object(hooks))
        return .object(members)
    }

    /// A number in `value` written as an integer too large for Int64, if any.
    static func firstInexactInteger(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number) where number.rounded() == number && abs(number) >= 0x1p63: return number
        case .array(let elements): return elements.lazy.compactMap(firstInexactInteger).first
        case .object(let members): return members.lazy.compactMap { firstInexactInteger($0.1) }.first
        default: return nil
        }
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
