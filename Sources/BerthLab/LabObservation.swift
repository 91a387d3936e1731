#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace
public import BerthNetlink
public import BerthNetwork
public import BerthRun

/// What the kernel holds for a lab's nodes: read, never assumed, so `up` converges from
/// what is really there and `inspect` shows it.
public struct LabObservation: Sendable {
    public var lab: String
    public var nodes: [String: ObservedNode]
}

/// One node's namespace as found.
public struct ObservedNode: Sendable {
    public var name: String
    public var namespaceName: String
    /// Whether `/run/netns/LAB-NODE` holds a namespace.
    public var exists: Bool
    /// Whether its `lo` carries this lab's tag for this node.
    public var tagged: Bool
    public var loopbackUp: Bool
    public var interfaces: [ObservedInterface]
    /// Routes of the main table, every protocol (the planner looks at Berth's, static).
    public var routes: [Route]
    /// Values of the sysctls asked about; nil where the key does not exist.
    public var sysctls: [String: String?]
    /// The namespace's identity, when it exists.
    public var identity: NamespaceIdentity?
    /// Its endpoint on a Berth network (id `LAB-NODE`, in this namespace), if any.
    public var endpoint: EndpointRecord?
    /// The lab's container named `LAB-NODE`, if any: one whose namespace carries this
    /// node's tag, or a stale record whose command is gone.
    public var container: ContainerRecord?
    /// Whether that container's command runs, in this namespace.
    public var containerRunning: Bool = false
    /// Whether a container named `LAB-NODE` is someone else's (`LabContainers.isLab` says
    /// no: running in a namespace without this node's tag, or stopped and not what the lab
    /// would have started): a run node refuses to take its name.
    public var foreignContainer: Bool = false
    /// The other lab's node whose tag the namespace carries, in words; nil when it carries
    /// this node's tag or none.
    public var heldBy: String?
    /// Whether, the namespace missing, its path is a leftover empty file of an interrupted
    /// create (`NetworkNamespace.isLeftover`): `up` removes it before creating the node if
    /// the lab owns the node, and refuses the lab otherwise.
    public var leftover: Bool = false

    public static func missing(_ name: String, namespace: String) -> ObservedNode {
        ObservedNode(name: name, namespaceName: namespace, exists: false, tagged: false, loopbackUp: false, interfaces: [], routes: [], sysctls: [:])
    }

    /// The interface its Berth network gave it, when it has an endpoint.
    public var networkInterface: ObservedInterface? {
        guard let endpoint else { return nil }
        return interface(endpoint.interfaceName.rawValue)
    }

    public func interface(_ name: String) -> ObservedInterface? { interfaces.first { $0.link.name == name } }
}

/// An interface of a node with its addresses (every scope but host: a file may declare a
/// link-local `fe80::1/64`) and Berth's qdiscs.
public struct ObservedInterface: Sendable {
    public var link: Link
    public var addresses: [CIDR]
    public var impairment: Impairment
    /// Those of `addresses` of link scope: the kernel's own `fe80::` among them, which the
    /// lab deletes only when a spec of the lab declared it.
    public var linkScoped: Set<CIDR> = []
    /// A root qdisc of a kind the lab does not install, added by hand (`Impairment.foreignRoot`):
    /// replaced when the file gives the end an impairment, else left.
    public var foreignRoot: Qdisc?
}

/// Reads a node's namespace: one open and four dumps (links, addresses, routes, qdiscs).
struct LabObserver {
    let lab: String
    /// The state store's tag, part of each node's tag.
    let stateTag: String

    /// Opens a node's namespace, nil if it does not exist or its path is a leftover empty
    /// file of a create that was interrupted (`NetworkNamespace.isLeftover`): no namespace,
    /// which `NetworkNamespace.delete(named:)` removes (`down`, gc) and `up` removes before
    /// creating the node — if the lab owns the node (`ObservedNode.leftover`).
    static func openNamespace(_ namespaceName: String) throws(BerthError) -> NetworkNamespace? {
        do throws(BerthError) {
            return try NetworkNamespace.open(named: namespaceName)
        } catch where error.code == .notFound || NetworkNamespace.isLeftover(named: namespaceName) {
            return nil
        }
    }

    func observe(node: String, sysctls: [String]) throws(BerthError) -> (ObservedNode, NetworkNamespace?, RouteNetlink?) {
        let namespaceName = LabNames.namespace(lab: lab, node: node)
        guard let namespace = try Self.openNamespace(namespaceName) else {
            var missing = ObservedNode.missing(node, namespace: namespaceName)
            missing.leftover = NetworkNamespace.isLeftover(named: namespaceName)
            return (missing, nil, nil)
        }
        let netlink = try RouteNetlink(namespace: namespace)
        let links = try netlink.links()
        let addresses = try netlink.addresses()
        let qdiscs = try netlink.qdiscs()
        let routes = try netlink.routes(table: RouteTable.main)
        let loopback = links.first { $0.kind == .loopback }
        let tag = LabNames.nodeAlias(lab: lab, node: node, state: stateTag)
        let interfaces = links.filter { $0.kind != .loopback }.map { link in
            let own = addresses.filter { $0.linkIndex == link.index && $0.scope != .host }
            let linkQdiscs = qdiscs.filter { $0.linkIndex == link.index }
            return ObservedInterface(link: link, addresses: own.map(\.cidr), impairment: Impairment(qdiscs: linkQdiscs),
                                     linkScoped: Set(own.filter { $0.scope == .link }.map(\.cidr)), foreignRoot: Impairment.foreignRoot(linkQdiscs))
        }
        let values = sysctls.isEmpty ? [:] : try Self.readSysctls(sysctls, in: namespace)
        var observed = ObservedNode(name: node, namespaceName: namespaceName, exists: true, tagged: loopback?.alias == tag,
                                    loopbackUp: loopback?.isUp ?? false, interfaces: interfaces, routes: routes, sysctls: values)
        observed.identity = namespace.identity
        observed.heldBy = Self.holder(alias: loopback?.alias, lab: lab, node: node, stateTag: stateTag)
        return (observed, namespace, netlink)
    }

    /// The other lab's node whose tag `alias` (a namespace's `lo` alias) is, in words; nil
    /// for this node's tag of this state store, or no lab tag. `LAB-NODE` is not one name per
    /// pair: lab `a` node `b-c` and lab `a-b` node `c` both spell `a-b-c`.
    static func holder(alias: String?, lab: String, node: String, stateTag: String) -> String? {
        guard let other = LabNames.node(fromAlias: alias), !(other.lab == lab && other.node == node && other.state == stateTag) else { return nil }
        return other.lab == lab && other.node == node ? "node \(node) of lab \(lab) in another state directory" : "node \(other.node) of lab \(other.lab)"
    }

    /// Reads sysctls on one namespace thread (not one thread per key).
    static func readSysctls(_ keys: [String], in namespace: NetworkNamespace) throws(BerthError) -> [String: String?] {
        try namespace.run { () throws(BerthError) -> [String: String?] in
            var values: [String: String?] = [:]
            for key in keys { values[key] = readFile(sysctlPath(key)) }
            return values
        }
    }

    /// Writes sysctls on one namespace thread.
    static func writeSysctls(_ pairs: [(String, String)], in namespace: NetworkNamespace, node: String) throws(BerthError) {
        try namespace.run { () throws(BerthError) in
            for (key, value) in pairs {
                let path = sysctlPath(key)
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else {
                    let error = Errno.current
                    if error.code == ENOENT { throw BerthError(.notFound, "sysctl \(key) does not exist in node \(node)", hint: "check the key's spelling") }
                    throw .system("open \(path) in node \(node)", error)
                }
                defer { close(fd) }
                let line = Array((value + "\n").utf8)
                let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard written == line.count else { throw .system("set sysctl \(key) to \(value) in node \(node)", .current) }
            }
        }
    }

    /// `/proc/sys/…` for a key written with '.' or '/' (validated by `LabSpec.validate`).
    static func sysctlPath(_ key: String) -> String {
        "/proc/sys/" + NodeSpec.Sysctl.path(of: key)
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, buffer.count)
        guard count >= 0 else { return nil }
        var text = String(decoding: buffer[..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
