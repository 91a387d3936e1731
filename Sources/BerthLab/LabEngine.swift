#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace
import BerthNetlink
public import BerthNetwork
public import BerthRun

/// Brings labs up, converges them to their file, takes them down: namespaces joined by veth
/// pairs over rtnetlink, Berth networks and endpoints through a `NetworkManager`, and run
/// nodes' containers through `LabContainers`.
///
/// `converge` builds the whole lab or nothing: on any failure it converges back to the
/// previous spec (for a new lab, to nothing) before it throws. Every namespace and link it
/// makes carries the lab's tag (`LabNames`), and endpoints and containers are named after
/// their node, so what a crash leaves is found again by `down` and garbage collection.
/// Named namespaces live in `/run/netns`, shared by the whole machine; the engine opens each
/// node's namespace by name, and Berth networks live in the manager's host namespace.
///
/// `owned` is the set of node names the lab's state says it may have made (its intent,
/// recorded before `up` touches the kernel): a leftover file of an interrupted create with
/// such a name is the lab's to remove. A namespace is tagged before it is named, so an
/// untagged one is never the lab's, owned name or not: it is refused, and left alone.
public final class LabEngine: Sendable {
    /// Networks, endpoints and the state store.
    public let manager: NetworkManager
    /// Run nodes' containers.
    public let containers: LabContainers
    /// The state store's tag, part of every node's tag (`LabNames.stateTag`).
    public let stateTag: String

    /// An engine over `manager` (its host namespace carries the lab's Berth networks, its
    /// store the lab's state). `supervisor` starts run nodes' containers (nil refuses them);
    /// `stopTimeout` is how long `down` lets a container's command end after SIGTERM.
    public init(manager: NetworkManager, supervisor: Supervisor.Entry? = nil, stopTimeout: Duration = .zero) {
        self.manager = manager
        containers = LabContainers(manager: manager, supervisor: supervisor, stopTimeout: stopTimeout)
        stateTag = Self.stateTag(directory: manager.store.directory)
    }

    /// The tag of the state store in `directory` (`LabNames.stateTag` of its resolved path),
    /// as every engine over that store computes it.
    static func stateTag(directory: String) -> String {
        var directory = directory
        // As `StateStore` trims them: "dir/" is the store "dir".
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        return LabNames.stateTag(directory: resolve(directory))
    }

    // MARK: - Looking

    /// Reads the kernel and the state for the nodes of `spec` and of `alsoNodes`.
    /// `known` are the lab's other specs (a stopped container is the lab's if it runs what
    /// one of them, or `spec`, gives its node).
    public func observe(_ spec: LabSpec, alsoNodes: Set<String> = [], known: [LabSpec] = []) throws(BerthError) -> LabObservation {
        try observeSession(spec, alsoNodes: alsoNodes, known: known).observation
    }

    /// What `converge` would do, without doing it: given what `converge` is given, it
    /// observes the same nodes and plans with the same owned nodes and known specs.
    public func plan(_ spec: LabSpec, from previous: LabSpec?, startedWith: LabSpec?, owned: Set<String> = [], createdNetworks: Set<String> = [],
                     known: [LabSpec] = []) throws(BerthError) -> [LabAction] {
        try plan(spec, from: previous, startedWith: startedWith, owned: owned, createdNetworks: createdNetworks, known: known, leftAlone: nil)
    }

    /// `plan`, noting in `leftAlone` the namespaces it would leave (`LabPlanner.leftAlone`).
    func plan(_ spec: LabSpec, from previous: LabSpec?, startedWith: LabSpec?, owned: Set<String>, createdNetworks: Set<String>,
              known: [LabSpec], leftAlone: LabLeftAlone?) throws(BerthError) -> [LabAction] {
        let allOwned = owned.union(previous?.nodes.map(\.name) ?? [])
        let others = [previous, startedWith].compactMap { $0 } + known
        let session = try observeSession(spec, alsoNodes: allOwned, known: others)
        try refuseForeign(spec, session.observation, owned: allOwned)
        let services = LabServicePlanner(spec: spec, observation: session.observation, previous: startedWith,
                                         missingNetworks: try LabNetworks(lab: spec.name, manager: manager).missing(spec),
                                         createdNetworks: createdNetworks)
        let planner = LabPlanner(spec: spec, observation: session.observation, owned: allOwned, known: others)
        leftAlone?.add(planner.leftAlone())
        return services.networksFirst() + planner.plan() + services.servicesLast()
    }

    /// Refuses a spec whose node namespaces exist without this lab's tag, owned or not (the
    /// lab tags a namespace before naming it), or are a leftover file of an interrupted
    /// create not among `owned`: someone else's namespace is never adopted or deleted. Before
    /// `up` records anything, so that a refusal leaves the lab's record as it was. Cheap:
    /// nodes whose namespace does not exist cost one failed open.
    public func refuseForeignNamespaces(_ spec: LabSpec, owned: Set<String>) throws(BerthError) {
        var observation = LabObservation(lab: spec.name, nodes: [:])
        for node in spec.nodes {
            let name = LabNames.namespace(lab: spec.name, node: node.name)
            guard let namespace = try LabObserver.openNamespace(name) else {
                if NetworkNamespace.isLeftover(named: name) {
                    var seen = ObservedNode.missing(node.name, namespace: name)
                    seen.leftover = true
                    observation.nodes[node.name] = seen
                }
                continue
            }
            // A failed read is an error, not "untagged": it says nothing of whose it is.
            let alias = try RouteNetlink(namespace: namespace).link(index: 1).alias
            var seen = ObservedNode.missing(node.name, namespace: name)
            seen.exists = true
            seen.tagged = alias == LabNames.nodeAlias(lab: spec.name, node: node.name, state: stateTag)
            seen.heldBy = LabObserver.holder(alias: alias, lab: spec.name, node: node.name, stateTag: stateTag)
            observation.nodes[node.name] = seen
        }
        try refuseForeign(spec, observation, owned: owned)
    }

    /// Refuses, before anything is made, what this kernel or this program cannot build: a
    /// `netem` impairment on a kernel without sch_netem; a run node whose container cannot
    /// start (no supervisor program, a missing root filesystem, a bad environment entry).
    /// The error names the file position of the first offender.
    public func preflight(_ spec: LabSpec) throws(BerthError) {
        for node in spec.nodes {
            guard let run = node.run else { continue }
            let place = "\(spec.source):\((run.location ?? node.location).map(\.description) ?? "?")"
            guard containers.supervisor != nil else {
                throw BerthError(.unsupported, "\(place): node \(node.name) runs a container, and this program was given no supervisor to start it",
                                 object: .node(lab: spec.name, node.name), operation: .labUp)
            }
            do {
                try LabContainers.options(lab: spec.name, node: node, run: run).validate()
            } catch {
                throw BerthError(error.code, "\(place): node \(node.name): \(error.message)", hint: error.hint, object: .node(lab: spec.name, node.name),
                                 operation: .labUp, parameter: error.parameter, remedy: error.remedy, cause: error.cause)
            }
        }
        let netem = spec.links.lazy.flatMap { link in link.endpoints.map { (link, $0) } }.first { $0.1.impairment.emulation != nil }
        if case let (link, end)? = netem, let options = end.impairment.emulation {
            guard try RouteNetlink.kernelSupports(.networkEmulation(options)) else {
                let place = "\(spec.source):\((end.location ?? link.location).map(\.description) ?? "?")"
                let missing = NetlinkChanges.missingQdiscKind("netem")
                throw BerthError(.unsupported, "\(place): link \(link.key) asks for netem, but \(missing.message); nothing was made",
                                 hint: "load the kernel module sch_netem (CONFIG_NET_SCH_NETEM), or remove netem from the lab; rate limits (tbf) work without it",
                                 object: missing.object, operation: .labUp)
            }
        }
    }

    // MARK: - Converging

    /// Brings the kernel to `spec`. On failure, converges back to `previous` (nothing, if
    /// nil), puts back the values of sysctls the failed attempt wrote in nodes the previous
    /// spec keeps, and throws the first error; if going back fails too, the error's cause is a
    /// `LabRollbackFailure` (`rollbackFailed`) and its remedy garbage collection. `startedWith` is the spec the running containers
    /// were started from (`previous` unless a crash makes it unknown: nil restarts them);
    /// `networks` keeps the networks the lab created, written before each creation.
    /// Returns what it did.
    @discardableResult
    public func converge(to spec: LabSpec, from previous: LabSpec?, startedWith: LabSpec?, owned: Set<String>,
                         networks: LabNetworkLedger, known: [LabSpec] = []) throws(BerthError) -> [LabAction] {
        try converge(to: spec, from: previous, startedWith: startedWith, owned: owned, networks: networks, known: known, made: LabMadeNodes(),
                     leftAlone: nil)
    }

    /// `converge`, noting in `made` the namespaces it creates (what a failed first `up`
    /// takes down besides `owned`), and in `leftAlone` those of nodes it leaves because
    /// they carry no lab tag.
    func converge(to spec: LabSpec, from previous: LabSpec?, startedWith: LabSpec?, owned: Set<String>,
                  networks: LabNetworkLedger, known: [LabSpec], made: LabMadeNodes, leftAlone: LabLeftAlone?) throws(BerthError) -> [LabAction] {
        let allOwned = owned.union(previous?.nodes.map(\.name) ?? [])
        try reserveDescriptors(spec, owned: allOwned)
        let undo = LabSysctlUndo()
        let others = [previous, startedWith].compactMap { $0 } + known
        do throws(BerthError) {
            return try apply(spec, startedWith: startedWith, owned: allOwned, networks: networks, known: others, failPoints: true, undo: undo, made: made,
                             leftAlone: leftAlone)
        } catch {
            let target = previous ?? LabSpec(name: spec.name, source: spec.source)
            do throws(BerthError) {
                try LabFailPoint.check("lab.rollback")
                // Only the namespaces this attempt made, besides those the lab owned: one of
                // the file's names that someone else made meanwhile (refused by the
                // observation, or EEXIST at its creation) is not the lab's to delete.
                _ = try apply(target, startedWith: spec, owned: allOwned.union(made.nodes), networks: networks,
                              known: [spec] + others, failPoints: false)
                try undo.restore(lab: spec.name, nodes: Set(target.nodes.map(\.name)))
            } catch let rollback {
                throw error.undoFailed(rollback)
            }
            throw error
        }
    }

    /// Makes room for the descriptors a convergence to `spec` keeps open, two for each of
    /// its nodes and `owned` (`LabFileLimit`), or refuses it before anything is made.
    public func reserveDescriptors(_ spec: LabSpec, owned: Set<String>) throws(BerthError) {
        try LabFileLimit.reserve(nodes: Set(spec.nodes.map(\.name)).union(owned).count, lab: spec.name, operation: .labUp)
    }

    /// Whether `error`, thrown by `converge`, says that going back failed too: the lab is
    /// left part-way between its specs.
    public static func rollbackFailed(_ error: BerthError) -> Bool { error.cause is LabRollbackFailure }

    /// Observes, plans and carries out one convergence, without rolling back.
    /// `known` are the lab's other specs (previous, pending, the one being left): what they
    /// declare is the lab's to undo.
    private func apply(_ spec: LabSpec, startedWith: LabSpec?, owned: Set<String>, networks: LabNetworkLedger, known: [LabSpec],
                       failPoints: Bool, undo: LabSysctlUndo? = nil, made: LabMadeNodes? = nil, leftAlone: LabLeftAlone? = nil) throws(BerthError) -> [LabAction] {
        let lab = LabNetworks(lab: spec.name, manager: manager)
        let first = LabServicePlanner(spec: spec, observation: LabObservation(lab: spec.name, nodes: [:]), previous: startedWith,
                                      missingNetworks: try lab.missing(spec), createdNetworks: networks.created).networksFirst()
        try LabApplier(spec: spec, session: LabSession(lab: spec.name), engine: self, networks: networks).applyNetworks(first, failPoints: failPoints)

        let session = try observeSession(spec, alsoNodes: owned, known: known)
        try refuseForeign(spec, session.observation, owned: owned)
        let planner = LabPlanner(spec: spec, observation: session.observation, owned: owned, known: known)
        let nodes = planner.plan()
        leftAlone?.add(planner.leftAlone())
        let applier = LabApplier(spec: spec, session: session, engine: self, networks: networks, undo: undo, known: known, made: made,
                                 leftAlone: leftAlone)
        let last = LabServicePlanner(spec: spec, observation: session.observation, previous: startedWith,
                                     missingNetworks: [], createdNetworks: networks.created).servicesLast()
        try applier.apply(nodes, services: last, failPoints: failPoints)
        try applier.applyServices(last, failPoints: failPoints)
        return first + nodes + last
    }

    // MARK: - Plumbing

    func observeSession(_ spec: LabSpec, alsoNodes: Set<String>, known: [LabSpec] = []) throws(BerthError) -> LabSession {
        let observer = LabObserver(lab: spec.name, stateTag: stateTag)
        let session = LabSession(lab: spec.name)
        let names = Set(spec.nodes.map(\.name)).union(alsoNodes).sorted()
        let endpoints = Dictionary(try manager.endpoints().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let records = Dictionary(try Container.list(manager: manager).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in names {
            let keys = spec.node(name)?.sysctls.map(\.key) ?? []
            var (node, namespace, netlink) = try observer.observe(node: name, sysctls: keys)
            let id = LabNames.namespace(lab: spec.name, node: name)
            if let endpoint = endpoints[id], endpoint.namespacePath == NamespaceReference.name(id).path { node.endpoint = endpoint }
            if let container = records[id] {
                let runs = ([spec] + known).compactMap { $0.node(name)?.run }
                if containers.isLab(container, lab: spec.name, node: name, stateTag: stateTag, runs: runs) {
                    node.container = container
                    node.containerRunning = containers.isRunning(container, in: node.identity)
                } else {
                    node.foreignContainer = true
                }
            }
            session.observation.nodes[name] = node
            if let namespace, let netlink { session.handles[name] = (namespace, netlink) }
            for interface in node.interfaces { session.indexes[name, default: [:]][interface.link.name] = interface.link.index }
        }
        return session
    }

    private func refuseForeign(_ spec: LabSpec, _ observation: LabObservation, owned: Set<String>) throws(BerthError) {
        for node in spec.nodes where node.run != nil && observation.nodes[node.name]?.foreignContainer == true {
            let name = LabContainers.name(lab: spec.name, node: node.name)
            throw BerthError(.conflict, "\(spec.source):\(node.location.map(\.description) ?? "?"): container \(name) exists and is not lab \(spec.name)'s node \(node.name); nothing was made",
                             hint: "remove that container, or rename the lab or the node", object: .container(name), operation: .labUp,
                             remedy: .remove(.container(name)))
        }
        // A leftover file of an interrupted create: the lab's to remove if it owns the node
        // (its up or a crash made it), else someone else's, refused as `NetworkNamespace.create` would.
        for node in spec.nodes where !owned.contains(node.name) && observation.nodes[node.name]?.leftover == true {
            let name = LabNames.namespace(lab: spec.name, node: node.name)
            throw BerthError(.alreadyExists, "\(spec.source):\(node.location.map(\.description) ?? "?"): \(NetworkNamespace.runDirectory)/\(name) of node \(node.name) is a leftover file of an interrupted namespace create, not a namespace; nothing was made",
                             object: .namespace(name), operation: .labUp, remedy: .remove(.namespace(name)))
        }
        for node in spec.nodes {
            // The lab tags a namespace before it names it: an untagged one is someone else's
            // (`ip netns add`), even under a name the lab recorded.
            guard let seen = observation.nodes[node.name], seen.exists, !seen.tagged else { continue }
            if let holder = seen.heldBy {
                // Never "remove it": it is another lab's running node.
                throw BerthError(.conflict, "\(spec.source):\(node.location.map(\.description) ?? "?"): network namespace \(seen.namespaceName) of node \(node.name) is already \(holder); nothing was made",
                                 hint: "rename the lab or the node, so that LAB-NODE names another namespace", object: .namespace(seen.namespaceName),
                                 operation: .labUp)
            }
            throw BerthError(.conflict, "\(spec.source):\(node.location.map(\.description) ?? "?"): network namespace \(seen.namespaceName) exists and is not lab \(spec.name)'s node \(node.name); nothing was made",
                             hint: "delete or rename that namespace, or rename the lab or the node", object: .namespace(seen.namespaceName),
                             operation: .labUp, remedy: .remove(.namespace(seen.namespaceName)))
        }
    }

    /// A path with symlinks and `.` resolved, so that every spelling of a state directory
    /// gives the same tag; the path as given if it cannot be resolved.
    static func resolve(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The networks a lab created, as its record keeps them: a network is added before it is
/// created, so a crash right after leaves it known.
public final class LabNetworkLedger: @unchecked Sendable {
    /// The networks the lab created.
    public private(set) var created: Set<String>
    private let save: (Set<String>) throws(BerthError) -> Void

    public init(created: Set<String>, save: @escaping (Set<String>) throws(BerthError) -> Void) {
        self.created = created
        self.save = save
    }

    func willCreate(_ network: String) throws(BerthError) {
        guard !created.contains(network) else { return }
        created.insert(network)
        try save(created)
    }

    func forget(_ networks: [String]) throws(BerthError) {
        guard !networks.isEmpty else { return }
        created.subtract(networks)
        try save(created)
    }
}

/// The nodes whose namespaces a converge created (`NetworkNamespace.create` succeeded).
final class LabMadeNodes: @unchecked Sendable {
    private(set) var nodes: Set<String> = []
    func insert(_ node: String) { nodes.insert(node) }
}

/// The namespaces of nodes a converge (or its plan) left in place without the lab's tag
/// (`LabPlanner.leftAlone`, `LabRemoval.leftAlone`): what `up` warns of.
final class LabLeftAlone: @unchecked Sendable {
    private(set) var namespaces: [String] = []
    func add(_ names: [String]) {
        for name in names where !namespaces.contains(name) { namespaces.append(name) }
    }
}

/// The handles and indexes one converge works with.
final class LabSession: @unchecked Sendable {
    let lab: String
    var observation: LabObservation
    var handles: [String: (NetworkNamespace, RouteNetlink)] = [:]
    /// Interface indexes by node and name, from the observation and creation echoes.
    var indexes: [String: [String: Int32]] = [:]

    init(lab: String) {
        self.lab = lab
        observation = LabObservation(lab: lab, nodes: [:])
    }
}

/// The values sysctls had before a converge wrote them, so that its rollback puts them back:
/// a key the previous spec does not name is not written by converging back to it.
final class LabSysctlUndo: @unchecked Sendable {
    private var saved: [(node: String, key: String, old: String)] = []
    private var noted: Set<String> = []

    func note(node: String, key: String, old: String) {
        guard noted.insert(node + "\u{0}" + key).inserted else { return }
        saved.append((node, key, old))
    }

    /// Writes the saved values back, in the nodes of `nodes` (the others are gone).
    func restore(lab: String, nodes: Set<String>) throws(BerthError) {
        var byNode: [String: [(String, String)]] = [:]
        for entry in saved where nodes.contains(entry.node) { byNode[entry.node, default: []].append((entry.key, entry.old)) }
        for (node, pairs) in byNode.sorted(by: { $0.key < $1.key }) {
            guard let namespace = try LabObserver.openNamespace(LabNames.namespace(lab: lab, node: node)) else { continue }
            try LabObserver.writeSysctls(pairs, in: namespace, node: node)
        }
    }
}
