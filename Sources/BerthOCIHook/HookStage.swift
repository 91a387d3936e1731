public import BerthCore

/// The OCI lifecycle points a hook can be registered for, and what Berth does at each.
public enum HookStage: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// After the container's namespaces exist, before its process runs: attach.
    case createRuntime
    /// The deprecated twin of `createRuntime` that older runtimes call: attach.
    case prestart
    /// In the container's namespaces before pivot_root: nothing to do.
    case createContainer
    /// In the container before its process is executed: nothing to do.
    case startContainer
    /// After the process started: nothing to do.
    case poststart
    /// After the container is deleted: detach, by container id, from state.
    case poststop

    /// What Berth does at a stage.
    public enum Action: Sendable, Hashable {
        /// Attach the container's network namespace.
        case attach
        /// Detach the container's endpoint.
        case detach
        /// The state is still read and checked, so a wrong registration shows at once.
        case nothing
    }

    /// What Berth does at this stage: attach at `createRuntime` and `prestart`, detach at `poststop`.
    public var action: Action {
        switch self {
        case .createRuntime, .prestart: .attach
        case .poststop: .detach
        case .createContainer, .startContainer, .poststart: .nothing
        }
    }

    public var description: String { rawValue }

    /// A stage by its name in config.json's `hooks`.
    public init(parsing text: String) throws(BerthError) {
        guard let stage = HookStage(rawValue: text) else {
            let names = HookStage.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid("unknown hook stage \"\(text)\"", hint: "use one of \(names)", parameter: "stage")
        }
        self = stage
    }
}
