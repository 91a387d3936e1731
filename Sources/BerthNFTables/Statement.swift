public import BerthCore

/// One statement of a rule: a match, an action or a verdict, from the small vocabulary Berth
/// needs. Each compiles to libnftnl expressions and renders as `nft list ruleset` prints it.
public enum Statement: Sendable, Hashable {
    /// `meta l4proto tcp`
    case l4proto(UInt8)
    /// `th dport 80` (after `meta l4proto tcp` nft prints `tcp dport 80`).
    case thDport(UInt16)
    /// `ip saddr 10.0.0.0/8`, `ip6 daddr fd00::1`: an address or a prefix of either family.
    case saddr(CIDR)
    case daddr(CIDR)
    /// `iifname "eth0"` or `iifname != "lo"`.
    case iifname(String, negated: Bool = false)
    case oifname(String, negated: Bool = false)
    /// `fib daddr type local`: the destination is an address of this host.
    case fibDaddrTypeLocal
    /// `ct state established,related`
    case ctState(CTState)
    /// `ct status dnat`: the connection was destination-NATed.
    case ctStatusDnat
    /// `counter`, with the kernel's counts when read back.
    case counter(packets: UInt64 = 0, bytes: UInt64 = 0)
    /// `dnat to 10.0.0.2:80` (`dnat ip to …` in inet tables); port optional.
    case dnat(to: IPAddress, port: UInt16? = nil)
    /// `dnat ip to ip daddr . meta l4proto . th dport map @m`: the key is built from packet
    /// fields, the map's data is `address . port`.
    case dnatMap(IPVersion, key: [MapKeyField], map: String)
    /// `masquerade`
    case masquerade
    case accept
    case drop
    /// `return`
    case `return`
    case jump(String)
    case goto(String)
    /// Read back but outside Berth's vocabulary; rendered as a comment-like placeholder.
    case unrecognized(String)

    /// The IP version the statement needs the packet to be, if any (for `meta nfproto` in inet tables).
    var ipVersion: IPVersion? {
        switch self {
        case .saddr(let c), .daddr(let c): c.family == .ipv4 ? .ip : .ip6
        case .dnat(let a, _): a.family == .ipv4 ? .ip : .ip6
        case .dnatMap(let v, _, _): v
        default: nil
        }
    }
}

/// A packet field used to build a map key.
public enum MapKeyField: Sendable, Hashable {
    case ipDaddr, ipSaddr, ip6Daddr, ip6Saddr, l4proto, thDport

    var rendered: String {
        switch self {
        case .ipDaddr: "ip daddr"
        case .ipSaddr: "ip saddr"
        case .ip6Daddr: "ip6 daddr"
        case .ip6Saddr: "ip6 saddr"
        case .l4proto: "meta l4proto"
        case .thDport: "th dport"
        }
    }

    var type: DataType {
        switch self {
        case .ipDaddr, .ipSaddr: .ipv4Address
        case .ip6Daddr, .ip6Saddr: .ipv6Address
        case .l4proto: .inetProto
        case .thDport: .inetService
        }
    }
}

/// Conntrack states (NF_CT_STATE_* bits), printed in nft's order.
public struct CTState: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let invalid = CTState(rawValue: 1)
    public static let established = CTState(rawValue: 2)
    public static let related = CTState(rawValue: 4)
    public static let new = CTState(rawValue: 8)
    public static let untracked = CTState(rawValue: 64)

    var rendered: String {
        let names: [(CTState, String)] = [(.invalid, "invalid"), (.established, "established"), (.related, "related"),
                                          (.new, "new"), (.untracked, "untracked")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}
