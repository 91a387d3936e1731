/// Something `berth check` found missing or wrong: which endpoint or network, which
/// object, and what is wrong with it.
public struct CheckProblem: Sendable, Hashable, CustomStringConvertible {
    /// The endpoint concerned, if any.
    public var endpoint: String?
    /// The network concerned.
    public var network: String
    /// The kernel object, in words ("bridge br-1a2b", "veth vb0123…", "address 10.0.0.2/24").
    public var object: String
    /// What is wrong.
    public var problem: String

    public init(endpoint: String?, network: String, object: String, problem: String) {
        self.endpoint = endpoint
        self.network = network
        self.object = object
        self.problem = problem
    }

    public var description: String {
        if let endpoint { return "endpoint \(endpoint.prefix(12)): \(object): \(problem)" }
        if !network.isEmpty { return "network \(network): \(object): \(problem)" }
        return "\(object): \(problem)"
    }
}

/// What `berth gc` removed.
public struct GCReport: Sendable, Hashable {
    /// Endpoints and publications whose namespace was gone (or, from a prune, that were
    /// not kept), detached and forgotten.
    public var endpoints: [String] = []
    /// Berth-tagged links the state did not know, deleted.
    public var links: [String] = []
    /// Berth-tagged nftables rules and elements the state did not know, deleted.
    public var firewallObjects: [String] = []

    public init() {}

    public var isEmpty: Bool { endpoints.isEmpty && links.isEmpty && firewallObjects.isEmpty }
}
