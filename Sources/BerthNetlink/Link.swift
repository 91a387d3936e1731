public import BerthCore

/// A network interface as the kernel reports it (RTM_NEWLINK).
public struct Link: Sendable, Hashable, CustomStringConvertible {
    /// The interface index, unique within its namespace.
    public var index: Int32
    /// The interface name.
    public var name: String
    /// What kind of link it is.
    public var kind: LinkKind
    /// The MTU in bytes.
    public var mtu: UInt32
    /// The hardware address; nil for links without one.
    public var mac: MACAddress?
    /// The interface flags (IFF_*).
    public var flags: LinkFlags
    /// The index of the bridge (or other master) this link is enslaved to.
    public var masterIndex: Int32?
    /// RFC 2863 operational state.
    public var operState: OperState
    /// The free-form alias (`ip link set NAME alias TEXT`).
    public var alias: String?
    /// IFLA_LINK: for a veth, the peer's index — in the peer's namespace when `linkNetNSID`
    /// is set.
    public var parentIndex: Int32?
    /// IFLA_LINK_NETNSID: the id, in this namespace, of the namespace `parentIndex` lives in.
    public var linkNetNSID: Int32?
    /// Whether the kernel keeps IPv6 state for the link (IFLA_AF_SPEC has an AF_INET6 part):
    /// false on a kernel booted with `ipv6.disable=1` and for a link whose MTU is below
    /// 1,280. True does not mean IPv6 is on (`disable_ipv6` may be 1): only that IPv6
    /// settings such as `addrgenmode` can be made.
    public var hasIPv6: Bool

    /// A link with index `index`; fields default to a down link of MTU 1500 without IPv6.
    public init(index: Int32, name: String, kind: LinkKind, mtu: UInt32 = 1500, mac: MACAddress? = nil, flags: LinkFlags = [],
                masterIndex: Int32? = nil, operState: OperState = .unknown, alias: String? = nil,
                parentIndex: Int32? = nil, linkNetNSID: Int32? = nil, hasIPv6: Bool = false) {
        self.index = index
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.mac = mac
        self.flags = flags
        self.masterIndex = masterIndex
        self.operState = operState
        self.alias = alias
        self.parentIndex = parentIndex
        self.linkNetNSID = linkNetNSID
        self.hasIPv6 = hasIPv6
    }

    /// Whether the link is administratively up (IFF_UP).
    public var isUp: Bool { flags.contains(.up) }

    /// For a veth, the peer's index (in another namespace when `linkNetNSID` is set).
    public var peerIndex: Int32? { kind == .veth ? parentIndex : nil }

    public var description: String {
        var text = "\(index): \(name) \(kind) mtu \(mtu) \(isUp ? "up" : "down") state \(operState)"
        if let mac { text += " mac \(mac)" }
        if let masterIndex { text += " master \(masterIndex)" }
        if let peerIndex { text += " peer \(peerIndex)" + (linkNetNSID.map { " netnsid \($0)" } ?? "") }
        if let alias { text += " alias \"\(alias)\"" }
        return text
    }
}

/// The type of a link, from IFLA_INFO_KIND (or its absence).
public enum LinkKind: Sendable, Hashable, CustomStringConvertible {
    /// A bridge.
    case bridge
    /// One end of a veth pair.
    case veth
    /// `lo`.
    case loopback
    /// A link without a kind: a physical or otherwise driver-made device.
    case device
    /// Any other kind the kernel names ("macvlan", "vxlan", …).
    case other(String)

    /// Maps an IFLA_INFO_KIND string.
    public init(kindName: String) {
        switch kindName {
        case "bridge": self = .bridge
        case "veth": self = .veth
        case "": self = .device
        default: self = .other(kindName)
        }
    }

    /// The name the kernel uses, as `ip -d link` prints it.
    public var description: String {
        switch self {
        case .bridge: "bridge"
        case .veth: "veth"
        case .loopback: "loopback"
        case .device: "device"
        case .other(let name): name
        }
    }
}

/// Interface flags (IFF_*), as in `ifi_flags`.
public struct LinkFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The IFF_* bits.
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// IFF_UP: administratively up.
    public static let up = LinkFlags(rawValue: 0x1)
    /// IFF_BROADCAST: the link has a broadcast address.
    public static let broadcast = LinkFlags(rawValue: 0x2)
    /// IFF_LOOPBACK: a loopback link.
    public static let loopback = LinkFlags(rawValue: 0x8)
    /// IFF_POINTOPOINT: a point-to-point link.
    public static let pointToPoint = LinkFlags(rawValue: 0x10)
    /// IFF_RUNNING: operationally up (RFC 2863 up).
    public static let running = LinkFlags(rawValue: 0x40)
    /// IFF_NOARP: no neighbour resolution.
    public static let noARP = LinkFlags(rawValue: 0x80)
    /// IFF_PROMISC: receives every frame.
    public static let promiscuous = LinkFlags(rawValue: 0x100)
    /// IFF_MULTICAST: supports multicast.
    public static let multicast = LinkFlags(rawValue: 0x1000)
    /// IFF_LOWER_UP: the driver reports carrier.
    public static let lowerUp = LinkFlags(rawValue: 0x10000)

    private static let names: [(LinkFlags, String)] = [
        (.up, "UP"), (.broadcast, "BROADCAST"), (.loopback, "LOOPBACK"), (.pointToPoint, "POINTOPOINT"),
        (.running, "RUNNING"), (.noARP, "NOARP"), (.promiscuous, "PROMISC"), (.multicast, "MULTICAST"), (.lowerUp, "LOWER_UP"),
    ]

    /// `UP,BROADCAST,…`: the names `ip link` prints inside <>, comma-separated as it does.
    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// RFC 2863 operational state (IFLA_OPERSTATE).
public enum OperState: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// IF_OPER_UNKNOWN: the driver does not report a state (`lo`, for one).
    case unknown = 0
    /// IF_OPER_NOTPRESENT: a component is missing.
    case notPresent = 1
    /// IF_OPER_DOWN: cannot pass packets.
    case down = 2
    /// IF_OPER_LOWERLAYERDOWN: down because a link it sits on is down (a veth whose peer is down).
    case lowerLayerDown = 3
    /// IF_OPER_TESTING: in test mode.
    case testing = 4
    /// IF_OPER_DORMANT: up but waiting for an external event.
    case dormant = 5
    /// IF_OPER_UP: can pass packets.
    case up = 6

    /// The upper-case form `ip -br link` prints.
    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .notPresent: "NOTPRESENT"
        case .down: "DOWN"
        case .lowerLayerDown: "LOWERLAYERDOWN"
        case .testing: "TESTING"
        case .dormant: "DORMANT"
        case .up: "UP"
        }
    }
}

/// Names a link in a request: by name (the kernel looks it up) or by index.
public enum LinkReference: Sendable, Hashable, CustomStringConvertible {
    /// By name, which the kernel looks up (IFLA_IFNAME).
    case name(InterfaceName)
    /// By index (`ifi_index`).
    case index(Int32)

    /// Validates `name` and refers to the link by it.
    public static func named(_ name: String) throws(BerthError) -> LinkReference {
        .name(try InterfaceName(name))
    }

    public var description: String {
        switch self {
        case .name(let name): name.rawValue
        case .index(let index): "#\(index)"
        }
    }
}
