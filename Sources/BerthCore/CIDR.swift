/// An address with a prefix length, such as `10.88.0.1/16` or `fd00::/64`.
///
/// Like `ip addr`, a CIDR keeps the address as written (`10.88.0.1/16` is an interface
/// address inside `10.88.0.0/16`); `network` drops the host bits.
public struct CIDR: Sendable, Hashable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The address as given, host bits included.
    public let address: IPAddress
    /// The prefix length: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    /// An address and a prefix length of 0 to the family's bit width; host bits are kept.
    public init(address: IPAddress, prefixLength: Int) throws(BerthError) {
        let width = address.family.bitWidth
        guard (0...width).contains(prefixLength) else {
            throw .invalid("invalid prefix length /\(prefixLength) for \(address)", hint: "use a prefix length from 0 to \(width)")
        }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `ADDRESS/PREFIX`.
    public init(parsing text: String) throws(BerthError) {
        let hint = "write an address and a prefix length, like 10.88.0.0/16 or fd00::/64"
        guard let slash = text.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            throw .invalid("invalid CIDR \"\(text)\": no prefix length", hint: hint)
        }
        let addressText = String(text[..<slash])
        let prefixText = String(text[text.index(after: slash)...])
        guard let address = IPAddress(addressText) else {
            throw .invalid("invalid CIDR \"\(text)\": \"\(addressText)\" is not an IP address", hint: hint)
        }
        guard !prefixText.isEmpty, prefixText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              prefixText.utf8.count <= 3, let prefix = Int(prefixText),
              prefix <= address.family.bitWidth,
              prefixText == String(prefix) else {
            throw .invalid("invalid CIDR \"\(text)\": prefix length \"\(prefixText)\" is not a number from 0 to \(address.family.bitWidth)", hint: hint)
        }
        try self.init(address: address, prefixLength: prefix)
    }

    /// Parses `ADDRESS/PREFIX`; nil if malformed.
    public init?(_ text: String) {
        guard let parsed = try? CIDR(parsing: text) else { return nil }
        self = parsed
    }

    /// The family of the address.
    public var family: IPFamily { address.family }

    /// This prefix with the host bits cleared (`10.88.0.1/16` → `10.88.0.0/16`).
    public var network: CIDR {
        // A prefix that was valid stays valid with its host bits cleared.
        CIDR(unchecked: Self.address(family, bits & mask), prefixLength)
    }

    /// The first address of the prefix.
    public var networkAddress: IPAddress { Self.address(family, bits & mask) }

    /// The last address of the prefix (the IPv4 broadcast address).
    public var lastAddress: IPAddress { Self.address(family, (bits & mask) | ~mask & Self.allOnes(family)) }

    /// Whether `address` lies inside this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && Self.bits(of: other) & mask == bits & mask
    }

    /// Whether every address of `other` lies inside this prefix.
    public func contains(_ other: CIDR) -> Bool {
        other.family == family && other.prefixLength >= prefixLength && contains(other.address)
    }

    /// Whether the two prefixes share any address.
    public func overlaps(_ other: CIDR) -> Bool {
        contains(other) || other.contains(self)
    }

    /// The number of addresses in the prefix, saturating at `UInt128.max` for ::/0.
    public var size: UInt128 {
        let hostBits = family.bitWidth - prefixLength
        return hostBits >= 128 ? .max : UInt128(1) << UInt128(hostBits)
    }

    /// The n-th usable host address: `n = 1` is the first address after the network address.
    ///
    /// Returns nil when `n` falls outside the prefix, and, for an IPv4 prefix shorter than /31,
    /// for the network address (`n = 0`) and the broadcast address, which no host may hold.
    /// Both addresses of an IPv4 /31 are hosts (RFC 3021); IPv6 has no broadcast, so `n = 0`
    /// gives the network address there.
    public func host(_ n: UInt128) -> IPAddress? {
        guard n < size else { return nil }
        if family == .ipv4, prefixLength < 31, n == size - 1 { return nil }
        if family == .ipv4, prefixLength < 31, n == 0 { return nil }
        return Self.address(family, (bits & mask) + n)
    }

    /// The offset of `address` from the network address, if it lies inside the prefix.
    public func offset(of other: IPAddress) -> UInt128? {
        guard contains(other) else { return nil }
        return Self.bits(of: other) - (bits & mask)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    // MARK: - Bit arithmetic shared by both families

    /// For arithmetic whose prefix length is valid by construction.
    init(unchecked address: IPAddress, _ prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    private var bits: UInt128 { Self.bits(of: address) }

    private var mask: UInt128 {
        let width = family.bitWidth
        let hostBits = width - prefixLength
        if hostBits >= 128 { return 0 }
        return Self.allOnes(family) & ~((UInt128(1) << UInt128(hostBits)) - 1)
    }

    private static func allOnes(_ family: IPFamily) -> UInt128 {
        family == .ipv4 ? UInt128(UInt32.max) : .max
    }

    private static func bits(of address: IPAddress) -> UInt128 {
        switch address {
        case .v4(let a): UInt128(a.value)
        case .v6(let a): a.value
        }
    }

    private static func address(_ family: IPFamily, _ bits: UInt128) -> IPAddress {
        family == .ipv4 ? .v4(IPv4Address(UInt32(truncatingIfNeeded: bits))) : .v6(IPv6Address(bits))
    }
}
