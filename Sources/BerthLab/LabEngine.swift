public import BerthCore
import BerthNamespace
import BerthNetlink

/// Brings labs up, converges them to their file, takes them down: bare namespaces joined by
/// veth pairs, over rtnetlink and `NetworkNamespace`.
///
/// `converge` builds the whole lab or nothing: on any failure it converges back to the
/// previous spec (for a new lab, to nothing) before it throws. Every namespace and link it
/// makes carries the lab's tag (`LabNames`), so what a crash leaves is found again by
/// `down` and `collectGarbage`. Named namespaces live in `/run/netns`, shared by the whole
/// machine; the engine opens each node's namespace by name.
///
/// `owned` is the set of node names the lab's state says it may have made (its intent,
/// recorded before `up` touches the kernel): an untagged namespace with such a name is the
/// lab's, from a crash between creating and tagging it; any other untagged one is refused.
public final class LabEngine: @unchecked Sendable {
    public init() {}

    // MARK: - Looking

    /// Reads the kernel for the nodes of `spec` and of `alsoNodes`.
    public func observe(_ spec: LabSpec, alsoNodes: Set<String> = []) throws(BerthError) -> LabObservation {
        try observeSession(spec, alsoNodes: alsoNodes).observation
    }

    /// What `converge` would do, without doing it.
    public func plan(_ spec: LabSpec, owned: Set<String> = []) throws(BerthError) -> [LabAction] {
        let session = try observeSession(spec, alsoNodes: owned)
        try refuseForeign(spec, session.observation, owned: owned)
        return LabPlanner(spec: spec, observation: session.observation, owned: owned).plan()
    }

    /// Refuses a spec whose node namespaces exist without this lab's tag and are not among
    /// `owned`: someone else's namespace is never adopted or deleted. Cheap: nodes whose
    /// namespace does not exist cost one failed open.
    public func refuseForeignNamespaces(_ spec: LabSpec, owned: Set<String>) throws(BerthError) {
        var observation = LabObservation(lab: spec.name, nodes: [:])
        for node in spec.nodes where !owned.contains(node.name) {
            let name = LabNames.namespace(lab: spec.name, node: node.name)
            guard let namespace = try LabObserver.open(name) else { continue }
            let tagged = (try? RouteNetlink(namespace: namespace).link(index: 1).alias) == LabNames.nodeAlias(lab: spec.name, node: node.name)
            var seen = ObservedNode.missing(node.name, namespace: name)
            seen.exists = true
            seen.tagged = tagged
            observation.nodes[node.name] = seen
        }
        try refuseForeign(spec, observation, owned: owned)
    }

    /// Refuses, before anything is made, what this kernel or this version cannot build: a
    /// `netem` impairment on a kernel without sch_netem, nodes on Berth networks, `run`
    /// nodes. The error names the file position of the first offender.
    public func preflight(_ spec: LabSpec) throws(BerthError) {
        for node in spec.nodes {
            if node.run != nil || node.network != nil || !node.publish.isEmpty {
                let what = node.run != nil ? "a berth run container" : "on a Berth network"
                throw BerthError(.unsupported, "\(spec.source):\(node.location.map(\.description) ?? "?"): node \(node.name) is \(what), which labs do not build yet",
                                 hint: "make the node a bare namespace (drop run, network and publish)", object: .file(spec.source))
            }
        }
        let netem = spec.links.lazy.flatMap { link in link.endpoints.map { (link, $0) } }.first { $0.1.impairment.emulation != nil }
        if case let (link, end)? = netem, let options = end.impairment.emulation {
            guard try RouteNetlink.kernelSupports(.networkEmulation(options)) else {
                let place = "\(spec.source):\((end.location ?? link.location).map(\.description) ?? "?")"
                throw BerthError(.unsupported, "\(place): link \(link.key) asks for netem, but this kernel has no netem queueing discipline (sch_netem); nothing was made",
                                 hint: "load the kernel module sch_netem (CONFIG_NET_SCH_NETEM), or remove netem from the lab; rate limits (tbf) work without it",
                                 object: .file(spec.source))
            }
        }
    }

    // MARK: - Converging

    /// Brings the kernel to `spec`. On failure, converges back to `previous` (nothing, if
    /// nil) and throws the first error. Returns what it did.
    @discardableResult
    public func converge(to spec: LabSpec, from previous: LabSpec?, owned: Set<String>) throws(BerthError) -> [LabAction] {
        let allOwned = owned.union(previous?.nodes.map(\.name) ?? [])
        do throws(BerthError) {
            let session = try observeSession(spec, alsoNodes: allOwned)
            try refuseForeign(spec, session.observation, owned: allOwned)
            let actions = LabPlanner(spec: spec, observation: session.observation, owned: allOwned).plan()
            try LabApplier(spec: spec, session: session).apply(actions)
            return actions
        } catch {
            let target = previous ?? LabSpec(name: spec.name, source: spec.source)
            let everything = allOwned.union(spec.nodes.map(\.name))
            if let session = try? observeSession(target, alsoNodes: everything) {
                let undo = LabPlanner(spec: target, observation: session.observation, owned: allOwned).plan()
                try? LabApplier(spec: target, session: session).apply(undo, failPoints: false)
            }
            throw error
        }
    }

    // MARK: - Tearing down

    /// Deletes every namespace of lab `lab`: the nodes named (the state's record) and any
    /// other namespace tagged for the lab (unless `scanTags` is false). Deleting a namespace takes its links with it.
    /// Returns the namespaces deleted.
    @discardableResult
    public func down(lab: String, nodes: Set<String>, scanTags: Bool = true) throws(BerthError) -> [String] {
        var deleted: [String] = []
        for node in nodes.sorted() {
            let name = LabNames.namespace(lab: lab, node: node)
            do throws(BerthError) {
                try NetworkNamespace.delete(named: name)
                deleted.append(name)
            } catch where error.code == .notFound {}
        }
        guard scanTags else { return deleted }
        for found in try Self.taggedNamespaces(prefix: lab + "-") where found.lab == lab && !deleted.contains(found.namespace) {
            try NetworkNamespace.delete(named: found.namespace)
            deleted.append(found.namespace)
        }
        return deleted
    }

    /// Namespaces whose `lo` carries a lab tag (optionally only names starting with
    /// `prefix`): what `down` and garbage collection find without state.
    public static func taggedNamespaces(prefix: String = "") throws(BerthError) -> [(namespace: String, lab: String, node: String)] {
        var found: [(namespace: String, lab: String, node: String)] = []
        for name in try NetworkNamespace.list() where name.hasPrefix(prefix) && name.contains("-") {
            guard let namespace = try? NetworkNamespace.open(named: name),
                  let netlink = try? RouteNetlink(namespace: namespace),
                  let loopback = try? netlink.link(index: 1),
                  let tag = LabNames.node(fromAlias: loopback.alias),
                  LabNames.namespace(lab: tag.lab, node: tag.node) == name else { continue }
            found.append((namespace: name, lab: tag.lab, node: tag.node))
        }
        return found
    }

    // MARK: - Plumbing

    private func observeSession(_ spec: LabSpec, alsoNodes: Set<String>) throws(BerthError) -> LabSession {
        let observer = LabObserver(lab: spec.name)
        let session = LabSession(lab: spec.name)
        for name in Set(spec.nodes.map(\.name)).union(alsoNodes).sorted() {
            let keys = spec.node(name)?.sysctls.map(\.key) ?? []
            let (node, namespace, netlink) = try observer.observe(node: name, sysctls: keys)
            session.observation.nodes[name] = node
            if let namespace, let netlink { session.handles[name] = (namespace, netlink) }
            for interface in node.interfaces { session.indexes[name, default: [:]][interface.link.name] = interface.link.index }
        }
        return session
    }

    private func refuseForeign(_ spec: LabSpec, _ observation: LabObservation, owned: Set<String>) throws(BerthError) {
        for node in spec.nodes {
            guard let seen = observation.nodes[node.name], seen.exists, !seen.tagged, !owned.contains(node.name) else { continue }
            throw BerthError(.conflict, "\(spec.source):\(node.location.map(\.description) ?? "?"): network namespace \(seen.namespaceName) exists and is not lab \(spec.name)'s node \(node.name); nothing was made",
                             hint: "delete or rename that namespace, or rename the lab or the node", object: .namespace(seen.namespaceName))
        }
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
