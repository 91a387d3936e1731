/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, Comparable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// An IPv4 address.
    case v4(IPv4Address)
    /// An IPv6 address.
    case v6(IPv6Address)

    /// The addresses given, IPv4 first: an interface's (or a record's) one address per
    /// family, either of which may be absent.
    public static func list(ipv4: IPv4Address?, ipv6: IPv6Address?) -> [IPAddress] {
        [ipv4.map(IPAddress.v4), ipv6.map(IPAddress.v6)].compactMap { $0 }
    }

    /// Parses either family: text with a ':' is IPv6, otherwise IPv4.
    public init(parsing text: String) throws(BerthError) {
        guard let parsed = IPAddress(text) else {
            throw .invalid("invalid IP address \"\(text)\"", hint: "write an IPv4 address like 10.88.0.2 or an IPv6 address like fd00::2")
        }
        self = parsed
    }

    /// Parses either family (text with a ':' is IPv6); nil if malformed.
    public init?(_ text: String) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let v6 = IPv6Address(text) else { return nil }
            self = .v6(v6)
        } else {
            guard let v4 = IPv4Address(text) else { return nil }
            self = .v4(v4)
        }
    }

    /// 4 or 16 bytes in network order; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        if let v4 = IPv4Address(bytes: bytes) { self = .v4(v4) }
        else if let v6 = IPv6Address(bytes: bytes) { self = .v6(v6) }
        else { return nil }
    }

    /// The address family.
    public var family: IPFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    /// The IPv4 address, if this is one.
    public var ipv4: IPv4Address? {
        if case .v4(let a) = self { return a }
        return nil
    }

    /// The IPv6 address, if this is one.
    public var ipv6: IPv6Address? {
        if case .v6(let a) = self { return a }
        return nil
    }

    /// Whether this is 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): a.isLoopback
        case .v6(let a): a.isLoopback
        }
    }

    /// Whether this is 0.0.0.0 or ::.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let a): a.isUnspecified
        case .v6(let a): a.isUnspecified
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// IPv4 sorts before IPv6; within a family, numerically.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

/// An address family.
public enum IPFamily: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// IPv4 (AF_INET).
    case ipv4
    /// IPv6 (AF_INET6).
    case ipv6

    /// Address width in bits.
    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

    /// "IPv4" or "IPv6", as messages name the family.
    public var label: String { self == .ipv4 ? "IPv4" : "IPv6" }

    public var description: String { rawValue }
}
