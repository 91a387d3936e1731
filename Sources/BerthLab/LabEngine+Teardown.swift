public import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork
public import BerthRun

/// What taking a lab (or its leftovers) down removed.
public struct LabRemoval: Sendable, Hashable {
    public var namespaces: [String] = []
    public var containers: [String] = []
    public var endpoints: [String] = []
    public var networks: [String] = []
    /// Networks the lab created that others' endpoints still use: left in place.
    public var keptNetworks: [String] = []
    /// Namespaces named like a node of the lab that carry no lab tag, or whose tag could not
    /// be read: left in place (another lab's node is left too, and not listed).
    public var leftAlone: [String] = []

    public init() {}

    public var isEmpty: Bool { namespaces.isEmpty && containers.isEmpty && endpoints.isEmpty && networks.isEmpty }

    mutating func add(_ other: LabRemoval) {
        namespaces += other.namespaces
        containers += other.containers
        endpoints += other.endpoints
        networks += other.networks
        keptNetworks += other.keptNetworks
        leftAlone += other.leftAlone
    }
}

extension LabEngine {
    /// Removes one node: its container (stopped), its endpoint (detached, its ports
    /// unpublished), then its namespace (taking its links with it). What is already gone is
    /// fine. The container is stopped only if it is the lab's (`LabContainers.isLab`: its
    /// namespace carries the node's tag, or it ended and runs what one of `runs`, the node's
    /// `run` in the lab's specs, gives); the endpoint and the namespace only if the namespace
    /// carries this node's tag of this state store. The lab tags a namespace before it names
    /// it, so an untagged one is someone else's (`ip netns add` of the name), and a name
    /// `LAB-NODE` that another lab's node also spells (lab `a` node `b-c` and lab `a-b` node
    /// `c` are both `a-b-c`) is another lab's: both are left alone, and the first listed in
    /// `leftAlone`, as is one whose tag cannot be read. A leftover empty file of an
    /// interrupted create at the namespace's path (`NetworkNamespace.isLeftover`) is removed
    /// like a namespace.
    @discardableResult
    public func teardown(lab: String, node: String, runs: [RunSpec] = []) throws(BerthError) -> LabRemoval {
        var removal = LabRemoval()
        let name = LabNames.namespace(lab: lab, node: node)
        if let container = try containers.container(named: name) {
            if containers.isLab(container, lab: lab, node: node, stateTag: stateTag, runs: runs) {
                try containers.stop(named: name)
                removal.containers.append(name)
            }
        }
        switch holder(of: name, lab: lab, node: node) {
        case .node: break
        case .otherLab: return removal
        case .unknown:
            removal.leftAlone.append(name)
            return removal
        }
        let networks = LabNetworks(lab: lab, manager: manager)
        if try networks.endpoint(node: node) != nil {
            try networks.detach(node: node)
            removal.endpoints.append(name)
        }
        do throws(BerthError) {
            try NetworkNamespace.delete(named: name)
            removal.namespaces.append(name)
        } catch where error.code == .notFound {}
        return removal
    }

    /// Whose the namespace at a node's name is, as `teardown` treats it.
    enum NamespaceHolder {
        /// This node's (its tag), or nothing but a leftover file of an interrupted create, or none.
        case node
        /// Another lab's, node's or state directory's, by its tag.
        case otherLab
        /// Untagged (`ip netns add`: the lab tags before it names), or its tag could not be
        /// read (EMFILE, say): not deleted on a guess.
        case unknown
    }

    /// Whose the namespace `name` is: fails closed, an error reading it is `unknown`.
    func holder(of name: String, lab: String, node: String) -> NamespaceHolder {
        let namespace: NetworkNamespace
        do throws(BerthError) {
            guard let opened = try LabObserver.openNamespace(name) else { return .node }
            namespace = opened
        } catch {
            return .unknown
        }
        guard let alias = try? RouteNetlink(namespace: namespace).link(index: 1).alias else { return .unknown }
        if alias == LabNames.nodeAlias(lab: lab, node: node, state: stateTag) { return .node }
        return LabNames.node(fromAlias: alias) != nil ? .otherLab : .unknown
    }

    /// Takes a lab down: every node named (the state's record) and every other namespace
    /// tagged for the lab in this state store (unless `scanTags` is false), then the
    /// networks it created (`networks`), unless others' endpoints still use them. `specs`
    /// are the lab's recorded specs: a stopped container is the lab's only if it runs what
    /// one of them gives its node.
    @discardableResult
    public func down(lab: String, nodes: Set<String>, networks created: Set<String> = [], scanTags: Bool = true,
                     specs: [LabSpec] = []) throws(BerthError) -> LabRemoval {
        var removal = LabRemoval()
        var done: Set<String> = []
        for node in nodes.sorted() {
            removal.add(try teardown(lab: lab, node: node, runs: specs.compactMap { $0.node(node)?.run }))
            done.insert(node)
        }
        if scanTags {
            for found in try taggedNamespaces(prefix: lab + "-") where found.lab == lab && !done.contains(found.node) {
                removal.add(try teardown(lab: lab, node: found.node, runs: specs.compactMap { $0.node(found.node)?.run }))
            }
            for (container, tag) in try labContainers() where tag.lab == lab && !done.contains(tag.node) {
                try containers.stop(named: container.name)
                removal.containers.append(container.name)
            }
        }
        let (removed, kept) = try LabNetworks(lab: lab, manager: manager).remove(created: created, keep: [])
        removal.networks += removed
        removal.keptNetworks += kept
        return removal
    }

    /// Namespaces whose `lo` carries a lab tag of this state store (optionally only names
    /// starting with `prefix`): what `down` and garbage collection find without state.
    public func taggedNamespaces(prefix: String = "") throws(BerthError) -> [(namespace: String, lab: String, node: String)] {
        var found: [(namespace: String, lab: String, node: String)] = []
        for name in try NetworkNamespace.list() where name.hasPrefix(prefix) && name.contains("-") {
            guard let namespace = try? NetworkNamespace.open(named: name),
                  let netlink = try? RouteNetlink(namespace: namespace),
                  let loopback = try? netlink.link(index: 1),
                  let tag = LabNames.node(fromAlias: loopback.alias), tag.state == stateTag,
                  LabNames.namespace(lab: tag.lab, node: tag.node) == name else { continue }
            found.append((namespace: name, lab: tag.lab, node: tag.node))
        }
        return found
    }

    /// Containers whose command runs in a namespace tagged for a lab of this state store,
    /// whatever their namespace's name now (a crash can leave one whose name is gone).
    public func labContainers() throws(BerthError) -> [(container: ContainerRecord, tag: (lab: String, node: String))] {
        var found: [(container: ContainerRecord, tag: (lab: String, node: String))] = []
        for record in try Container.list(manager: manager) {
            guard let tag = containers.labTag(of: record), tag.state == stateTag else { continue }
            found.append((record, (tag.lab, tag.node)))
        }
        return found
    }
}
