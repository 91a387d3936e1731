import BerthCore
import BerthNamespace
import BerthNetlink

/// A link in the fake kernel.
public struct FakeLink: Sendable, Hashable, CustomStringConvertible {
    /// Where a veth's other end is.
    public struct Peer: Sendable, Hashable {
        /// The inode of the peer's namespace (its `NamespaceIdentity.inode`).
        public var namespace: UInt64
        public var index: Int32

        public init(namespace: UInt64, index: Int32) {
            self.namespace = namespace
            self.index = index
        }
    }

    public var index: Int32
    public var name: String
    /// "bridge", "veth", "dummy", "loopback", …
    public var kind: String
    public var mtu: UInt32
    public var mac: MACAddress?
    public var isUp: Bool
    public var master: Int32?
    public var alias: String?
    /// Hairpin mode of a bridge port.
    public var hairpin: Bool = false
    /// IN6_ADDR_GEN_MODE_* (0 eui64, 1 none), set through IFLA_AF_SPEC.
    public var addressGenerationMode: UInt8 = 0
    public var peer: Peer?
    /// The MAC was given (at creation or later), not made up by the kernel: a bridge
    /// whose MAC is not set takes the lowest of its ports', as the kernel's does.
    public var macIsSet: Bool = false

    public var description: String {
        var text = "\(index): \(name) \(kind) mtu \(mtu) \(isUp ? "up" : "down")"
        if let master { text += " master \(master)" }
        if let alias { text += " alias \"\(alias)\"" }
        if hairpin { text += " hairpin" }
        return text
    }
}

/// An address on a link of the fake kernel.
struct FakeAddress: Hashable {
    var index: Int32
    var cidr: CIDR
    var broadcast: IPAddress?
    var label: String?
    /// IFA_F_* (nodad 0x02, tentative 0x40, permanent 0x80).
    var flags: UInt32 = 0
}

/// A route of the fake kernel (main table unless said otherwise).
struct FakeRoute: Hashable {
    var family: IPFamily
    var destination: CIDR?
    var gateway: IPAddress?
    var oif: Int32?
    var table: UInt32 = 254
    /// RTPROT_* (2 kernel, 4 static).
    var proto: UInt8 = 4
    /// RT_SCOPE_* (0 universe, 253 link).
    var scope: UInt8 = 0
    var metric: UInt32?
    var source: IPAddress?
    /// An IPv6 route joined to another of the same key by NLM_F_APPEND: one multipath route.
    var multipath = false

    /// Same destination, table and metric: what makes a second route "the same" for EEXIST.
    func sameKey(_ other: FakeRoute) -> Bool {
        family == other.family && destination == other.destination && table == other.table && (metric ?? 0) == (other.metric ?? 0)
    }
}

/// A socket bound in a fake namespace, as sock_diag reports it.
public struct FakeSocket: Sendable, Hashable {
    public var proto: TransportProtocol
    public var address: IPAddress
    public var port: UInt16
    public var inode: UInt32
    /// What `socketOwner` says for it ("process nginx (pid 42)").
    public var owner: String?
}

/// One network namespace of the fake kernel: its links, addresses, routes, sysctls, bound
/// sockets and nftables.
final class FakeNamespaceState {
    /// The namespace's inode: its identity in this kernel.
    let inode: UInt64
    /// How logs and errors name it.
    let label: String
    var isAlive = true
    var links: [Int32: FakeLink] = [:]
    var nextIndex: Int32 = 2
    var addresses: [FakeAddress] = []
    var routes: [FakeRoute] = []
    var sysctls: [String: String] = [
        "net/ipv4/ip_forward": "0",
        "net/ipv4/ip_local_port_range": "32768\t60999",
    ]
    var sockets: [FakeSocket] = []
    let nftables = FakeNFTables()

    init(inode: UInt64, label: String) {
        self.inode = inode
        self.label = label
        // Every namespace starts with lo, down, at index 1.
        links[1] = FakeLink(index: 1, name: "lo", kind: "loopback", mtu: 65536, mac: nil, isUp: false)
    }

    var sortedLinks: [FakeLink] { links.values.sorted { $0.index < $1.index } }

    func link(named name: String) -> FakeLink? { links.values.first { $0.name == name } }

    /// A MAC for a link that was given none: locally administered, from the namespace and index.
    func inventMAC(_ index: Int32) -> MACAddress? {
        MACAddress(bytes: [0x02, 0xfa, UInt8(truncatingIfNeeded: inode), UInt8(truncatingIfNeeded: inode >> 8),
                           UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)])
    }

    /// The MAC the kernel reports: a bridge without a set MAC takes the lowest MAC among
    /// its ports (and keeps its own while it has none).
    func effectiveMAC(of link: FakeLink) -> MACAddress? {
        guard link.kind == "bridge", !link.macIsSet else { return link.mac }
        let ports = links.values.filter { $0.master == link.index }.compactMap(\.mac)
        return ports.min { $0.bytes.lexicographicallyPrecedes($1.bytes) } ?? link.mac
    }

    /// Per-interface sysctls follow a renamed interface.
    func renameSysctls(from old: String, to new: String) {
        for (key, value) in sysctls {
            var parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, parts[2] == "conf", parts[3] == old else { continue }
            parts[3] = new
            sysctls[key] = nil
            sysctls[parts.joined(separator: "/")] = value
        }
    }

    /// Adds `link` under the next free index and returns that index.
    func insert(_ link: FakeLink) -> Int32 {
        var link = link
        // A new link copies the namespace's default for IPv6 (disable_ipv6 matters here).
        if sysctls["net/ipv6/conf/default/disable_ipv6"] == "1" { sysctls["net/ipv6/conf/\(link.name)/disable_ipv6"] = "1" }
        link.index = nextIndex
        nextIndex += 1
        links[link.index] = link
        return link.index
    }

    /// Removes a link with its addresses and routes, and frees its bridge ports.
    func remove(index: Int32) {
        // Per-interface sysctls (net/ipv4/conf/NAME/…) go with the interface.
        if let name = links[index]?.name {
            sysctls = sysctls.filter { key, _ in !key.contains("/conf/\(name)/") }
        }
        links[index] = nil
        addresses.removeAll { $0.index == index }
        routes.removeAll { $0.oif == index }
        for (other, var port) in links where port.master == index {
            port.master = nil
            port.hairpin = false
            links[other] = port
        }
    }

    /// The kernel adds a link-scope route to the main table for each address on an up link
    /// (loopback's go to the local table, which the fake does not keep), and drops it when
    /// the link goes down. An IPv6 prefix gets one route per link, with metric 256.
    func refreshConnectedRoutes() {
        routes.removeAll { $0.proto == 2 }
        for address in addresses where address.cidr.family == .ipv4 && address.cidr.prefixLength < 32 && !address.cidr.address.isLoopback {
            guard links[address.index]?.isUp == true else { continue }
            routes.append(FakeRoute(family: .ipv4, destination: address.cidr.network, gateway: nil, oif: address.index,
                                    proto: 2, scope: 253, metric: nil, source: address.cidr.address))
        }
        for address in addresses where address.cidr.family == .ipv6 && address.cidr.prefixLength < 128 {
            guard links[address.index]?.isUp == true, !routes.contains(where: {
                $0.proto == 2 && $0.destination == address.cidr.network && $0.oif == address.index
            }) else { continue }
            routes.append(FakeRoute(family: .ipv6, destination: address.cidr.network, gateway: nil, oif: address.index,
                                    proto: 2, scope: 0, metric: 256, source: nil))
        }
    }

    /// Whether `gateway` is on a subnet of an up link (of `oif` when given).
    func reaches(_ gateway: IPAddress, via oif: Int32?) -> Bool {
        addresses.contains { address in
            (oif == nil || address.index == oif) && links[address.index]?.isUp == true && address.cidr.contains(gateway)
        }
    }
}
