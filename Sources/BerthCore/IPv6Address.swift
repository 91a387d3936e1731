/// An IPv6 address, stored as a 128-bit number.
///
/// Parses every RFC 4291 text form (`::`, `fe80::1`, `::ffff:10.0.0.1`) and prints the
/// RFC 5952 canonical form (lower case, the longest run of zero groups compressed,
/// IPv4-mapped addresses in mixed notation), so the
/// text round-trips to what `ip -6 addr` prints. Zone suffixes (`%eth0`) are refused: an
/// address with a zone is not a value that can be stored or compared on its own.
public struct IPv6Address: Sendable, Hashable, Comparable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The address as a number, first group most significant.
    public var value: UInt128 {
        get { UInt128(high) << 64 | UInt128(low) }
        set {
            high = UInt64(truncatingIfNeeded: newValue >> 64)
            low = UInt64(truncatingIfNeeded: newValue)
        }
    }
    // Two 64-bit halves, not a stored UInt128: Swift 6.3 on x86_64 copies a struct holding a
    // UInt128 with 16-byte-aligned moves (movaps) into stack slots it aligned to 8 only, which
    // crashed PortAllocator.claim (a PortSpec holds an IPAddress) once BerthError grew.
    private var high: UInt64
    private var low: UInt64

    /// The address whose number is `value`, first group most significant.
    public init(_ value: UInt128) {
        high = UInt64(truncatingIfNeeded: value >> 64)
        low = UInt64(truncatingIfNeeded: value)
    }

    /// Sixteen bytes in network order (a state row's blob, a kernel attribute). Not generic,
    /// beside the generic form below: that one, called across modules unspecialised, made
    /// the runtime scan all conformance records at its first use (`reduce` on the
    /// collection), which a dual-stack attach and detach paid once each (perf6).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(bytes[index]) }
        self.high = high
        self.low = low
    }

    /// Sixteen bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.init(bytes.reduce(0) { $0 << 8 | UInt128($1) })
    }

    /// Eight 16-bit groups, first group most significant.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has eight groups")
        self.init(groups.reduce(0) { $0 << 16 | UInt128($1) })
    }

    /// Parses any RFC 4291 text form; throws for malformed text or a zone suffix.
    public init(parsing text: String) throws(BerthError) {
        guard let parsed = IPv6Address(text) else {
            throw .invalid("invalid IPv6 address \"\(text)\"", hint: "write eight hex groups separated by colons, '::' for a run of zeros, like fd00::1")
        }
        self = parsed
    }

    /// Parses any RFC 4291 text form; nil if malformed or zoned.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDoubleColon = false
        var index = 0
        if utf8.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            sawDoubleColon = true
            index = 2
            if index == utf8.count { self.init(0); return }
        } else if utf8.first == UInt8(ascii: ":") {
            return nil
        }
        while index < utf8.count {
            // One group: up to four hex digits, or a trailing dotted IPv4 address.
            var end = index
            while end < utf8.count, utf8[end] != UInt8(ascii: ":") { end += 1 }
            let field = utf8[index..<end]
            let groupCount = head.count + tail.count
            if field.contains(UInt8(ascii: ".")) {
                guard end == utf8.count, groupCount <= 6,
                      let v4 = IPv4Address(String(decoding: field, as: UTF8.self)) else { return nil }
                let pair = [UInt16(v4.value >> 16), UInt16(truncatingIfNeeded: v4.value)]
                if sawDoubleColon { tail += pair } else { head += pair }
                index = end
                break
            }
            guard !field.isEmpty, field.count <= 4, groupCount < 8 else { return nil }
            var group: UInt16 = 0
            for byte in field {
                guard let nibble = Self.hexValue(byte) else { return nil }
                group = group << 4 | UInt16(nibble)
            }
            if sawDoubleColon { tail.append(group) } else { head.append(group) }
            index = end
            if index < utf8.count {
                index += 1 // the ':'
                if index < utf8.count, utf8[index] == UInt8(ascii: ":") {
                    guard !sawDoubleColon else { return nil }
                    sawDoubleColon = true
                    index += 1
                } else if index == utf8.count {
                    return nil // a trailing single ':'
                }
            }
        }
        let total = head.count + tail.count
        if sawDoubleColon {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let zeros = [UInt16](repeating: 0, count: 8 - total)
        self.init(groups: head + zeros + tail)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The eight 16-bit groups, first most significant.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(112 - 16 * $0)) }
    }

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: value >> UInt128(120 - 8 * $0)) }
    }

    public var description: String {
        // RFC 5952 section 5: an IPv4-mapped address (::ffff:0:0/96) prints its last 32 bits
        // dotted, as inet_ntop(3) and `ip -6` do. The deprecated IPv4-compatible form (::/96)
        // stays hex, so `::1:2` is not shown as `::0.1.0.2`.
        if value >> 32 == 0xFFFF {
            return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: value)).description
        }
        let groups = self.groups
        // RFC 5952: compress the longest run (of at least two) of zero groups, the first on a tie.
        var bestStart = -1, bestLength = 1
        var runStart = -1
        for i in 0...8 {
            if i < 8, groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        // Group by group, not `[String].joined(separator:)`: that generic, unspecialised here,
        // made the runtime scan all conformance records at its first use (perf6).
        func hex(_ range: Range<Int>) -> String {
            var text = ""
            for index in range {
                if index > range.lowerBound { text += ":" }
                text += String(groups[index], radix: 16)
            }
            return text
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// ::1.
    public var isLoopback: Bool { value == 1 }
    /// ::.
    public var isUnspecified: Bool { value == 0 }
    /// fe80::/10.
    public var isLinkLocal: Bool { value >> 118 == 0x3FA }
    /// ff00::/8.
    public var isMulticast: Bool { value >> 120 == 0xFF }
    /// fc00::/7, unique local addresses (RFC 4193): routed only inside a site.
    public var isUniqueLocal: Bool { value >> 121 == 0x7E }
    /// ::ffff:0:0/96, an IPv4 address in IPv6 form (RFC 4291 section 2.5.5.2).
    public var isIPv4Mapped: Bool { value >> 32 == 0xFFFF }

    /// ::.
    public static let any = IPv6Address(0)
    /// ::1.
    public static let loopback = IPv6Address(1)

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { lhs.value < rhs.value }
}
