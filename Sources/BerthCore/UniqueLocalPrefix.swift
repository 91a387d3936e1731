/// An RFC 4193 unique local IPv6 prefix: `fd00::/8` with a 40-bit global ID, a /48 out of
/// which a site numbers up to 65,536 /64 subnets by a 16-bit subnet ID.
///
/// The global ID is what makes two sites' prefixes (almost surely) differ, so it is drawn
/// at random once and then kept: a host that keeps its `UniqueLocalPrefix` gives a network
/// the same /64 each time it is made. The text form is the /48 (`fd12:3456:789a::/48`).
public struct UniqueLocalPrefix: Sendable, Hashable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The 40-bit global ID (RFC 4193 section 3.1).
    public let globalID: UInt64

    /// The largest global ID: 40 bits.
    public static let maxGlobalID: UInt64 = (1 << 40) - 1

    /// The prefix with this global ID; nil when it does not fit in 40 bits.
    public init?(globalID: UInt64) {
        guard globalID <= Self.maxGlobalID else { return nil }
        self.globalID = globalID
    }

    /// A new prefix with a random global ID (RFC 4193 section 3.2 allows any method whose
    /// output is random; SystemRandomNumberGenerator reads the kernel's random source).
    public static func random() -> UniqueLocalPrefix {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A new prefix with a global ID drawn from `generator`.
    public static func random(using generator: inout some RandomNumberGenerator) -> UniqueLocalPrefix {
        UniqueLocalPrefix(unchecked: UInt64.random(in: 0...maxGlobalID, using: &generator))
    }

    private init(unchecked globalID: UInt64) { self.globalID = globalID }

    /// Parses the /48 text this prints: an `fd00::/8` address with a /48 and nothing set
    /// past the global ID.
    public init(parsing text: String) throws(BerthError) {
        let hint = "write an fd00::/8 prefix of length 48, like fd12:3456:789a::/48"
        let cidr = try CIDR(parsing: text)
        guard case .v6(let address) = cidr.address, cidr.prefixLength == 48, address.value >> 120 == 0xFD,
              address.value & ((UInt128(1) << 80) - 1) == 0 else {
            throw .invalid("\"\(text)\" is not a unique local /48 prefix", hint: hint)
        }
        self.init(unchecked: UInt64(truncatingIfNeeded: address.value >> 80) & Self.maxGlobalID)
    }

    /// Parses an `fd00::/8` /48 with nothing set past the global ID; nil otherwise.
    public init?(_ text: String) {
        guard let parsed = try? UniqueLocalPrefix(parsing: text) else { return nil }
        self = parsed
    }

    /// The /48: `fd` and the global ID.
    public var prefix: CIDR { CIDR(unchecked: .v6(IPv6Address(base)), 48) }

    /// The /64 with `subnetID` (RFC 4193's 16-bit subnet ID).
    public func subnet(_ subnetID: UInt16) -> CIDR {
        CIDR(unchecked: .v6(IPv6Address(base | UInt128(subnetID) << 64)), 64)
    }

    /// The subnet ID of `subnet` if it is a /64 of this prefix.
    public func subnetID(of subnet: CIDR) -> UInt16? {
        guard subnet.prefixLength == 64, prefix.contains(subnet), case .v6(let address) = subnet.networkAddress else { return nil }
        return UInt16(truncatingIfNeeded: address.value >> 64)
    }

    public var description: String { prefix.description }

    private var base: UInt128 { UInt128(0xFD) << 120 | UInt128(globalID) << 80 }
}
