/// The nftables address family of a table: which packets its chains see.
public enum Family: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IPv4 packets only.
    case ip
    /// IPv6 packets only.
    case ip6
    /// IPv4 and IPv6 packets; rules that match addresses carry an implicit `meta nfproto`.
    case inet

    /// The NFPROTO_* value the kernel uses.
    var nfproto: UInt32 {
        switch self {
        case .ip: 2
        case .ip6: 10
        case .inet: 1
        }
    }

    init?(nfproto: UInt32) {
        switch nfproto {
        case 2: self = .ip
        case 10: self = .ip6
        case 1: self = .inet
        default: return nil
        }
    }

    public var description: String { rawValue }
}

/// An IP version, for statements that exist once per version (`ip saddr`, `dnat ip to`).
public enum IPVersion: String, Sendable, Hashable {
    /// `ip` (IPv4), `ip6` (IPv6).
    case ip, ip6

    var nfproto: UInt32 { self == .ip ? 2 : 10 }
    var addressLength: Int { self == .ip ? 4 : 16 }
}
