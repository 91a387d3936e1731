public import BerthCore

/// A route (RTM_NEWROUTE).
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The address family.
    public var family: IPFamily
    /// The destination prefix; nil for the default route.
    public var destination: CIDR?
    /// The next hop, if the route goes through a gateway.
    public var gateway: IPAddress?
    /// The output link's index.
    public var linkIndex: Int32?
    /// The preferred source address.
    public var preferredSource: IPAddress?
    /// The routing table (254 is main).
    public var table: UInt32
    /// Who installed the route.
    public var routeProtocol: RouteProtocol
    /// How far the destination is.
    public var scope: AddressScope
    /// What the route does with a packet.
    public var type: RouteType
    /// The metric (RTA_PRIORITY); lower wins.
    public var metric: UInt32?
    /// A multipath (ECMP) route's next hops (RTA_MULTIPATH), each with a gateway and link
    /// of its own; empty for a route of one path, which keeps them in `gateway` and
    /// `linkIndex`. The kernel sends IPv6 routes of one key joined by an append, and IPv4
    /// routes made with several `nexthop`s, this way.
    public var nextHops: [NextHop]

    /// One path of a multipath route (`struct rtnexthop` and its attributes).
    public struct NextHop: Sendable, Hashable, CustomStringConvertible {
        /// The path's gateway, if it has one.
        public var gateway: IPAddress?
        /// The path's output link.
        public var linkIndex: Int32
        /// Its share of the flows: the kernel's `rtnh_hops` plus one, as `ip route` shows it.
        public var weight: Int

        /// A next hop.
        public init(gateway: IPAddress? = nil, linkIndex: Int32, weight: Int = 1) {
            self.gateway = gateway
            self.linkIndex = linkIndex
            self.weight = weight
        }

        public var description: String {
            (gateway.map { "nexthop via \($0) " } ?? "nexthop ") + "dev #\(linkIndex) weight \(weight)"
        }
    }

    /// A route; fields default to a main-table, static, universe-scope unicast route.
    public init(family: IPFamily, destination: CIDR? = nil, gateway: IPAddress? = nil, linkIndex: Int32? = nil,
                preferredSource: IPAddress? = nil, table: UInt32 = RouteTable.main, routeProtocol: RouteProtocol = .static,
                scope: AddressScope = .universe, type: RouteType = .unicast, metric: UInt32? = nil, nextHops: [NextHop] = []) {
        self.family = family
        self.destination = destination
        self.gateway = gateway
        self.linkIndex = linkIndex
        self.preferredSource = preferredSource
        self.table = table
        self.routeProtocol = routeProtocol
        self.scope = scope
        self.type = type
        self.metric = metric
        self.nextHops = nextHops
    }

    /// Whether this is a default route (destination /0 or none).
    public var isDefault: Bool { destination == nil || destination?.prefixLength == 0 }

    /// Every gateway the route sends through: its own, or each next hop's.
    public var gateways: [IPAddress] {
        if let gateway { return [gateway] }
        return nextHops.compactMap(\.gateway)
    }

    public var description: String {
        var text = type == .unicast ? "" : "\(type) "
        text += destination.map { $0.prefixLength == 0 ? "default" : $0.description } ?? "default"
        if let gateway { text += " via \(gateway)" }
        if let linkIndex { text += " dev #\(linkIndex)" }
        if table != RouteTable.main { text += " table \(table)" }
        text += " proto \(routeProtocol) scope \(scope)"
        if let preferredSource { text += " src \(preferredSource)" }
        if let metric { text += " metric \(metric)" }
        for hop in nextHops { text += " \(hop)" }
        return text
    }
}

/// Well-known routing table ids.
public enum RouteTable {
    /// RT_TABLE_MAIN (254): where routes go unless told otherwise.
    public static let main: UInt32 = 254
    /// RT_TABLE_LOCAL (255): the kernel's local and broadcast routes.
    public static let local: UInt32 = 255
    /// RT_TABLE_DEFAULT (253): consulted after main; usually empty.
    public static let `default`: UInt32 = 253
}

/// Who installed a route (RTPROT_*).
public enum RouteProtocol: Sendable, Hashable, CustomStringConvertible {
    /// RTPROT_UNSPEC (0).
    case unspecified
    /// RTPROT_REDIRECT (1): from an ICMP redirect.
    case redirect
    /// Added by the kernel (prefix routes of addresses).
    case kernel
    /// Added at boot or by `ip route add` without a protocol.
    case boot
    /// Added by an administrator or a tool such as Berth.
    case `static`
    /// From an IPv6 router advertisement.
    case routerAdvertisement
    /// RTPROT_DHCP (16): from a DHCP client.
    case dhcp
    /// A protocol number without a name here.
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .redirect
        case 2: self = .kernel
        case 3: self = .boot
        case 4: self = .static
        case 9: self = .routerAdvertisement
        case 16: self = .dhcp
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .unspecified: 0
        case .redirect: 1
        case .kernel: 2
        case .boot: 3
        case .static: 4
        case .routerAdvertisement: 9
        case .dhcp: 16
        case .other(let value): value
        }
    }

    public var description: String {
        switch self {
        case .unspecified: "unspec"
        case .redirect: "redirect"
        case .kernel: "kernel"
        case .boot: "boot"
        case .static: "static"
        case .routerAdvertisement: "ra"
        case .dhcp: "dhcp"
        case .other(let value): "\(value)"
        }
    }
}

/// What a route does (RTN_*).
public enum RouteType: Sendable, Hashable, CustomStringConvertible {
    /// RTN_UNSPEC (0).
    case unspecified
    /// RTN_UNICAST: a gateway or direct route.
    case unicast
    /// RTN_LOCAL: an address of this host.
    case local
    /// RTN_BROADCAST: sent as link broadcast.
    case broadcast
    /// RTN_ANYCAST: accepted locally as anycast, sent as unicast.
    case anycast
    /// RTN_MULTICAST: a multicast route.
    case multicast
    /// RTN_BLACKHOLE: dropped silently.
    case blackhole
    /// RTN_UNREACHABLE: dropped with an ICMP unreachable.
    case unreachable
    /// RTN_PROHIBIT: dropped with an ICMP administratively prohibited.
    case prohibit
    /// A type number without a name here.
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .unicast
        case 2: self = .local
        case 3: self = .broadcast
        case 4: self = .anycast
        case 5: self = .multicast
        case 6: self = .blackhole
        case 7: self = .unreachable
        case 8: self = .prohibit
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .unspecified: 0
        case .unicast: 1
        case .local: 2
        case .broadcast: 3
        case .anycast: 4
        case .multicast: 5
        case .blackhole: 6
        case .unreachable: 7
        case .prohibit: 8
        case .other(let value): value
        }
    }

    public var description: String {
        switch self {
        case .unspecified: "unspec"
        case .unicast: "unicast"
        case .local: "local"
        case .broadcast: "broadcast"
        case .anycast: "anycast"
        case .multicast: "multicast"
        case .blackhole: "blackhole"
        case .unreachable: "unreachable"
        case .prohibit: "prohibit"
        case .other(let value): "\(value)"
        }
    }
}
