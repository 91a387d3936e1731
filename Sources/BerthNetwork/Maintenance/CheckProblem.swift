/// Something `berth check` found missing or wrong: which endpoint or network, which
/// object, what is wrong with it, and what repairs it.
public struct CheckProblem: Sendable, Hashable, CustomStringConvertible {
    /// What makes a problem go away. `check` never names a repair that does not.
    public enum Repair: Sendable, Hashable {
        /// `reconcile` restores it.
        case reconcile
        /// The endpoint cannot be restored — its veth pair or its namespace is gone, or its
        /// detach was interrupted — and garbage collection (or detaching it) removes it.
        case collectGarbage
        /// Something inside the container is gone (its interface, address or route):
        /// detaching the endpoint and attaching it again makes it anew.
        case reattach
        /// An adopted bridge is gone: Berth never makes a bridge it did not make; its owner
        /// makes it again, then `reconcile` puts the network back on it.
        case recreateBridge
        /// A link of another kind holds the bridge's name: remove it, then `reconcile`.
        case removeLink
        /// A bridge Berth did not make for the network holds its name (another state
        /// directory's, or one a program made after the network's was gone): Berth never
        /// takes it over. The network is made again on another bridge name, or that bridge is
        /// removed if nothing uses it, then `reconcile`.
        case bridgeNameTaken
        /// Another firewall's forward chain drops what Berth forwards: only a rule in that
        /// table accepting the bridges' traffic (or a change of its policy) helps; Berth
        /// never changes another table, and `reconcile` cannot.
        case allowInForeignFirewall(ForwardDrop)
        /// A host process bound a published port after it was published: stop it (or bind
        /// it elsewhere), or publish on another host port.
        case stopHostListener
        /// The resolver cannot listen on a network's gateway (another process holds port
        /// 53 there, or the address cannot be bound): stop that process; the resolver
        /// binds the address by itself once it is free (it retries up to every 5 s).
        case freeResolverAddress
        /// A chain or map of Berth's table is not as Berth makes it (another program's table
        /// called `berth`, or an edit): Berth never changes it; its owner moves what the
        /// table holds elsewhere and deletes the table, then every state directory's
        /// `reconcile` makes it anew.
        case replaceForeignTable
        /// Whether the endpoint's namespace is still there could not be told: opening it
        /// failed for a reason that may pass (a resource limit: EMFILE, ENFILE, ENOMEM).
        /// Checking again tells; `gc` keeps it meanwhile.
        case recheck
        /// Whether the endpoint's namespace is still there could not be told: opening it was
        /// refused (EACCES, EPERM: another process's `/proc/PID/ns/net` takes
        /// CAP_SYS_PTRACE). Checking again with that privilege tells; `gc` keeps it meanwhile.
        case recheckWithPrivilege
        /// The record is marked as begun while another Berth command holds the state's lock:
        /// most likely that command's own attach, detach, create or removal, under way.
        /// Checking again once it is done tells whether it was interrupted instead.
        case awaitOperation
    }

    /// The endpoint concerned, if any.
    public var endpoint: String?
    /// The network concerned.
    public var network: String
    /// The kernel object, in words ("bridge br-1a2b", "veth vb0123…", "address 10.0.0.2/24").
    public var object: String
    /// What is wrong.
    public var problem: String
    /// What repairs it.
    public var repair: Repair

    /// A problem `reconcile` repairs unless another `repair` is named.
    public init(endpoint: String?, network: String, object: String, problem: String, repair: Repair = .reconcile) {
        self.endpoint = endpoint
        self.network = network
        self.object = object
        self.problem = problem
        self.repair = repair
    }

    /// An endpoint marked as detaching: an attach or a detach of it was interrupted (the
    /// mark is the same for both, so the words name neither alone); gc (or detaching it)
    /// finishes it.
    static func interrupted(_ endpoint: EndpointRecord) -> CheckProblem {
        CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: "attach or detach", problem: "interrupted", repair: .collectGarbage)
    }

    /// An endpoint whose row cannot be decoded (the state database was changed outside
    /// Berth): detaching it removes it, then it can be attached again.
    static func unreadable(_ row: UnreadableEndpoint) -> CheckProblem {
        CheckProblem(endpoint: row.id, network: row.network, object: "record", problem: "unreadable: \(row.error.message)", repair: .reattach)
    }

    /// An endpoint marked as detaching while the state's lock is held: its attach or detach
    /// is most likely under way; `check` says so instead of advising gc.
    static func inProgress(_ endpoint: EndpointRecord) -> CheckProblem {
        CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: "attach or detach", problem: "in progress", repair: .awaitOperation)
    }

    /// A network marked as creating or removing while the state's lock is held.
    static func inProgress(_ network: NetworkRecord) -> CheckProblem {
        CheckProblem(endpoint: nil, network: network.name, object: network.phase == .creating ? "create" : "removal",
                     problem: "in progress", repair: .awaitOperation)
    }

    /// A network whose create or removal was interrupted (`NetworkRecord.Phase`); gc (or
    /// removing it) finishes it as a removal.
    static func interrupted(_ network: NetworkRecord) -> CheckProblem {
        CheckProblem(endpoint: nil, network: network.name, object: network.phase == .creating ? "create" : "removal",
                     problem: "interrupted", repair: .collectGarbage)
    }

    /// `endpoint ID: OBJECT: PROBLEM` (the id shortened as lists show it), else `network
    /// NAME: …`, else `OBJECT: PROBLEM`; the repair is not included.
    public var description: String {
        // The id as lists show it and `check ID`/`detach` take it back (`EndpointShortID`).
        if let endpoint { return "endpoint \(EndpointShortID.display(endpoint)): \(object): \(problem)" }
        if !network.isEmpty { return "network \(network): \(object): \(problem)" }
        return "\(object): \(problem)"
    }
}

/// What `NetworkManager.gc()` (or `gc(endpoint:)`) removed.
public struct GCReport: Sendable, Hashable {
    /// Endpoints and publications forgotten (their address and ports freed): their
    /// namespace or their veth was gone, their detach had been interrupted and is now
    /// finished, or (from a prune) they were not kept.
    public var endpoints: [String] = []
    /// Links of this instance the state does not know, deleted.
    public var links: [String] = []
    /// Networks whose create or removal a crash interrupted, removed.
    public var networks: [String] = []
    /// This instance's nftables rules and elements the state does not know, deleted.
    public var firewallObjects: [String] = []
    /// The resolver, stopped because no network has DNS on any more.
    public var resolver: String?
    /// Endpoints and publications kept because whether their namespace lives could not be
    /// told (opening it failed with no permission, a resource limit…): which, and why (its
    /// description: "could not check namespace PATH of endpoint ID: why"). Not counted by
    /// `isEmpty`.
    public var unchecked: [UncheckedNamespace] = []
    /// Endpoints and publications a full `gc` could not remove because a step of their
    /// teardown failed, each kept with its record (and what of it the failing step left) for
    /// the next `gc`: which, and the error (its `description` is "endpoint ID: why"). The
    /// others were collected all the same. Not counted by `isEmpty`.
    public var failed: [GCFailure] = []

    /// A report of nothing removed.
    public init() {}

    /// Nothing was removed and no resolver stopped (`unchecked` and `failed` are not counted).
    public var isEmpty: Bool { endpoints.isEmpty && links.isEmpty && networks.isEmpty && firewallObjects.isEmpty && resolver == nil }
}

/// What `NetworkManager.reconcile()` did.
public struct ReconcileReport: Sendable, Hashable {
    /// What was missing or wrong and is now as the state says.
    public var restored: [CheckProblem] = []
    /// Objects of a store made before instances, now tagged with its instance.
    public var retagged: [CheckProblem] = []
    /// What reconcile cannot restore, each with the repair that can.
    public var remaining: [CheckProblem] = []
    /// What restoring changed for the host beyond Berth's objects (IPv4 forwarding turned
    /// back on; IPv6 forwarding turned back on while an interface relies on router
    /// advertisements), and another firewall's forward chain that drops what Berth forwards.
    public var warnings: [HostWarning] = []

    /// A report of nothing done.
    public init() {}

    /// Nothing was missing, nothing needed a tag, nothing is left.
    public var isEmpty: Bool { restored.isEmpty && retagged.isEmpty && remaining.isEmpty }
}
