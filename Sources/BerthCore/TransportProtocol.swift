/// A transport protocol a port can be published for.
public enum TransportProtocol: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// TCP (IP protocol 6).
    case tcp
    /// UDP (IP protocol 17).
    case udp
    /// SCTP (IP protocol 132).
    case sctp

    /// The IP protocol number (IANA), as in the IP header and nftables' `meta l4proto`.
    public var ipProtocolNumber: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }

    /// Parses `tcp`, `udp` or `sctp`, in any case (`docker run -p 53:53/UDP` is accepted too).
    public init(parsing text: String) throws(BerthError) {
        guard let value = TransportProtocol(rawValue: text.lowercased()) else {
            throw .invalid("unknown protocol \"\(text)\"", hint: "use tcp, udp or sctp")
        }
        self = value
    }

    public var description: String { rawValue }
}
