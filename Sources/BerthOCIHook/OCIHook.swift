public import BerthCore
public import BerthNetwork

/// `berth-oci-hook STAGE`: what one hook call does, from the state a runtime wrote to
/// what changed.
///
/// Everything the runtime hands over is parsed and checked before Berth's state is opened,
/// so refused input changes nothing. At `createRuntime` (and `prestart`) the container's
/// network namespace is attached as endpoint `id`; at `poststop` endpoint `id` is detached
/// from recorded state alone — unless the container joined a namespace by path that is still
/// alive, whose other users keep the endpoint (`Outcome.kept`), or the endpoint recorded under
/// `id` is another live container's (`Outcome.held`). Other stages only check the state.
public struct OCIHook: Sendable {
    /// Berth's state directory; nil means `BERTH_STATE_DIR`, else /var/lib/berth.
    public var stateDirectory: String?
    /// The hook's process exits once the stage is done: a due WAL checkpoint then runs in a
    /// process of its own (`berth-oci-hook _checkpoint DIR`) and Berth's state and sockets
    /// are left to the exit. A process that lives on passes false.
    public var processExitsAfterwards: Bool

    /// A hook using `stateDirectory` (nil: `BERTH_STATE_DIR`, else /var/lib/berth).
    public init(stateDirectory: String? = nil, processExitsAfterwards: Bool = false) {
        self.stateDirectory = stateDirectory
        self.processExitsAfterwards = processExitsAfterwards
    }

    /// What a call did.
    public enum Outcome: Sendable {
        /// `createRuntime`/`prestart`: the namespace is attached as this endpoint.
        case attached(EndpointRecord)
        /// A repeated `createRuntime`/`prestart`: the endpoint was there already.
        case alreadyAttached(EndpointRecord)
        /// `poststop`: the endpoint is gone; `leftovers` lists what a killed attach had left.
        case detached(id: String, leftovers: [String])
        /// `poststop` of a container that joined a namespace by path which is still alive:
        /// the endpoint stays for the namespace's other users (`HookNetwork.poststop`).
        case kept(EndpointRecord)
        /// `poststop` of a container whose id is recorded for a namespace that is alive and
        /// wired and not the container's: another container with the same id (another
        /// runtime root) holds the endpoint — this one's `createRuntime` was refused — so
        /// it stays (`HookNetwork.poststop`).
        case held(EndpointRecord)
        /// A stage Berth has no work at.
        case nothing
    }

    /// Runs `stage` for the state in `state` (the bytes of stdin).
    public func run(_ stage: HookStage, state bytes: [UInt8]) throws(BerthError) -> Outcome {
        try run(stage, state: try OCIState(parsing: bytes))
    }

    /// Runs `stage` for a decoded state.
    public func run(_ stage: HookStage, state: OCIState) throws(BerthError) -> Outcome {
        do {
            switch stage.action {
            case .nothing:
                return .nothing
            case .detach:
                // A container that joined a namespace by path shares it with others; a bundle
                // that cannot be read (gone by now, or malformed) counts as a namespace of
                // its own (`HookNetwork.poststop`).
                let joined = if case .path? = (try? bundleConfig(state))?.networkNamespace { true } else { false }
                let network = try HookNetwork(stateDirectory: stateDirectory, processExitsAfterwards: processExitsAfterwards)
                defer { network.finish() }
                switch try network.poststop(id: state.id, joined: joined) {
                case .detached(let leftovers): return .detached(id: state.id, leftovers: leftovers)
                case .kept(let endpoint): return .kept(endpoint)
                case .held(let endpoint): return .held(endpoint)
                }
            case .attach:
                let config = try bundleConfig(state)
                // The state's annotations are the runtime's word; config.json fills in those
                // a runtime leaves out of the state. Berth's five names are looked up in each,
                // not the two merged (a lookup per annotation: quadratic in a large state).
                let request = try HookAnnotations(state.annotations, over: config.annotations)
                let namespacePath = try Self.namespacePath(state: state, config: config)
                // A joined namespace must be the one the container's process is in.
                let processPath: String? = if case .path = config.networkNamespace, let pid = state.pid { "/proc/\(pid)/ns/net" } else { nil }
                Trace.mark("hook: state, config.json and annotations parsed")
                let network = try HookNetwork(stateDirectory: stateDirectory, processExitsAfterwards: processExitsAfterwards)
                defer { network.finish(startPath: true) }
                switch try network.attach(id: state.id, namespacePath: namespacePath, processNamespacePath: processPath, request: request) {
                case .created(let endpoint): return .attached(endpoint)
                case .existing(let endpoint): return .alreadyAttached(endpoint)
                }
            }
        } catch {
            throw error.with(object: .container(state.id))
        }
    }

    /// The bundle's config.json: `bundle` from the state, else the working directory (a
    /// runtime starts its hooks in the bundle).
    func bundleConfig(_ state: OCIState) throws(BerthError) -> OCIBundleConfig {
        if state.bundle?.isEmpty == true {
            throw BerthError(.invalidArgument, "the container state's \"bundle\" is empty (a runtime sends the bundle directory's absolute path)",
                             object: OCIState.object, parameter: "bundle")
        }
        let path = state.bundle.map { $0.hasSuffix("/") ? $0 + "config.json" : $0 + "/config.json" } ?? "config.json"
        return try OCIBundleConfig(parsing: BoundedInput.readFile(path, limit: OCIBundleConfig.maxSize), path: path)
    }

    /// Where the container's network namespace is: the path it joins, else its process's.
    /// (A path joined is checked against the process's namespace by `HookNetwork.attach`,
    /// when the state has a pid, and is the one recorded: poststop and gc open it.)
    /// A container without a network namespace of its own is refused: wiring it would wire
    /// the host.
    static func namespacePath(state: OCIState, config: OCIBundleConfig) throws(BerthError) -> String {
        switch config.networkNamespace {
        case .path(let path):
            return path
        case .new:
            guard let pid = state.pid else {
                throw BerthError(.invalidArgument, "the container state has no \"pid\", so its network namespace cannot be found",
                                 hint: "register the hook for createRuntime or prestart, when the container's process exists",
                                 object: .container(state.id), parameter: "pid")
            }
            return "/proc/\(pid)/ns/net"
        case .shared:
            throw BerthError(.invalidArgument, "container \(state.id) has no network namespace of its own (config.json's linux.namespaces has no \"network\" entry), so it shares the host's, which Berth never wires",
                             hint: "give it a \"network\" entry in config.json's linux.namespaces",
                             object: .container(state.id), parameter: "linux.namespaces")
        }
    }
}
