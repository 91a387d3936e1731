public import BerthCore

/// The part of a network's subnet that endpoints get addresses from when they ask for none
/// (Docker's and Podman's `--ip-range`): a prefix (`10.60.0.128/25`) or a span of addresses,
/// both ends included (`10.60.0.100-10.60.0.199`, Podman's form). An address asked for may
/// lie anywhere in the subnet, inside the range or not.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// The first address of the range.
    public let first: IPAddress
    /// The last address of the range, of the same family, not before `first`.
    public let last: IPAddress

    /// A span from `first` to `last`, both included.
    public init(first: IPAddress, last: IPAddress) throws(BerthError) {
        let hint = "give the range as a prefix such as 10.88.0.128/25, or as FIRST-LAST such as 10.88.0.100-10.88.0.199"
        guard first.family == last.family else {
            throw .invalid("address range \(first)-\(last) mixes IPv4 and IPv6", hint: hint, parameter: "ipRange")
        }
        guard Self.number(first) <= Self.number(last) else {
            throw .invalid("address range \(first)-\(last) ends before it starts", hint: "give its lower address first", parameter: "ipRange")
        }
        self.first = first
        self.last = last
    }

    /// The addresses of `prefix`, which must have its host bits clear.
    public init(_ prefix: CIDR) throws(BerthError) {
        guard prefix.address == prefix.networkAddress else {
            throw .invalid("address range \(prefix) has host bits set", hint: "use \(prefix.network)", parameter: "ipRange")
        }
        try self.init(first: prefix.networkAddress, last: prefix.lastAddress)
    }

    /// Parses `ADDRESS/PREFIX` (host bits clear) or `FIRST-LAST`.
    public init(parsing text: String) throws(BerthError) {
        if let dash = text.firstIndex(of: "-") {
            let firstText = String(text[..<dash]), lastText = String(text[text.index(after: dash)...])
            guard let first = IPAddress(firstText), let last = IPAddress(lastText) else {
                throw .invalid("invalid address range \"\(text)\"",
                               hint: "give the range as FIRST-LAST with two addresses, such as 10.88.0.100-10.88.0.199", parameter: "ipRange")
            }
            try self.init(first: first, last: last)
        } else {
            guard let prefix = CIDR(text) else {
                throw .invalid("invalid address range \"\(text)\"",
                               hint: "give the range as a prefix such as 10.88.0.128/25, or as FIRST-LAST such as 10.88.0.100-10.88.0.199",
                               parameter: "ipRange")
            }
            try self.init(prefix)
        }
    }

    /// Parses `ADDRESS/PREFIX` or `FIRST-LAST`; nil if malformed.
    public init?(_ text: String) {
        guard let parsed = try? AddressRange(parsing: text) else { return nil }
        self = parsed
    }

    /// The family of both ends.
    public var family: IPFamily { first.family }

    /// The range as a prefix, when it is exactly one (as Docker's `IPRange` is); else nil.
    public var prefix: CIDR? {
        let span = Self.number(last) - Self.number(first)
        // A prefix spans 2^k addresses (span all ones) starting on a multiple of 2^k.
        guard span & (span &+ 1) == 0, Self.number(first) & span == 0 else { return nil }
        let hostBits = UInt128.bitWidth - span.leadingZeroBitCount
        return try? CIDR(address: first, prefixLength: family.bitWidth - hostBits)
    }

    /// `ADDRESS/PREFIX` when the range is a prefix, else `FIRST-LAST`.
    public var description: String {
        prefix?.description ?? "\(first)-\(last)"
    }

    /// Whether `address` lies in the range.
    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && (Self.number(first)...Self.number(last)).contains(Self.number(address))
    }

    /// Whether every address of the range lies in `subnet`.
    public func isInside(_ subnet: CIDR) -> Bool {
        subnet.contains(first) && subnet.contains(last)
    }

    /// The range's ends as numbers.
    var bounds: ClosedRange<UInt128> { Self.number(first)...Self.number(last) }

    static func number(_ address: IPAddress) -> UInt128 {
        switch address {
        case .v4(let a): UInt128(a.value)
        case .v6(let a): a.value
        }
    }
}
