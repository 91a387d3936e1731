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
    /// `ip daddr 10.0.0.0/8`, `ip6 daddr fd00::1`: the destination address or prefix; a /0 is refused.
    case daddr(CIDR)
    /// `iifname "eth0"` or `iifname != "lo"`.
    case iifname(String, negated: Bool = false)
    /// `oifname "br0"` or `oifname != "br0"`: the output interface's name, 1 to 15 bytes.
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
    /// `ip saddr . ip daddr @s`: the key built from packet fields is in the named set (a
    /// set, not a map: the lookup loads no data).
    case lookup(key: [MapKeyField], set: String)
    /// `masquerade`
    case masquerade
    /// `accept`: the packet passes this hook (later chains of the hook still see it).
    case accept
    /// `drop`: the packet is discarded.
    case drop
    /// `return`
    case `return`
    /// `jump CHAIN`: evaluate the chain of this table, then continue after this rule.
    case jump(String)
    /// `goto CHAIN`: evaluate the chain of this table and do not come back.
    case goto(String)
    /// Read back but outside Berth's vocabulary; rendered as a comment-like placeholder.
    case unrecognized(String)

    /// The IP version the statement needs the packet to be, if any (for `meta nfproto` in inet tables).
    var ipVersion: IPVersion? {
        switch self {
        case .saddr(let c), .daddr(let c): c.family == .ipv4 ? .ip : .ip6
        case .dnat(let a, _): a.family == .ipv4 ? .ip : .ip6
        case .dnatMap(let v, _, _): v
        case .lookup(let key, _): key.lazy.compactMap(\.ipVersion).first
        default: nil
        }
    }
}

/// A packet field used to build a map key.
public enum MapKeyField: Sendable, Hashable {
    /// `ip daddr`, `ip saddr`, `ip6 daddr`, `ip6 saddr` (one IP version per map key),
    /// `meta l4proto`, `th dport`.
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

    /// The IP version an address field needs the packet to be; nil for the others.
    var ipVersion: IPVersion? {
        switch self {
        case .ipDaddr, .ipSaddr: .ip
        case .ip6Daddr, .ip6Saddr: .ip6
        case .l4proto, .thDport: nil
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
    /// The NF_CT_STATE_* bits.
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `invalid`: connection tracking could not place the packet (malformed, or outside the connection's state).
    public static let invalid = CTState(rawValue: 1)
    /// `established`: packets have gone both ways.
    public static let established = CTState(rawValue: 2)
    /// `related`: a new connection expected by an existing one (ICMP errors, FTP data).
    public static let related = CTState(rawValue: 4)
    /// `new`: the connection's first packet (or packets, before a reply).
    public static let new = CTState(rawValue: 8)
    /// `untracked`: exempted from connection tracking (`notrack`).
    public static let untracked = CTState(rawValue: 64)

    var rendered: String {
        let names: [(CTState, String)] = [(.invalid, "invalid"), (.established, "established"), (.related, "related"),
                                          (.new, "new"), (.untracked, "untracked")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}
