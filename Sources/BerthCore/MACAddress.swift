/// A 48-bit Ethernet address.
///
/// Reads `aa:bb:cc:dd:ee:ff` (colons or hyphens, either case) and prints lower case with
/// colons, as `ip link` does.
public struct MACAddress: Sendable, Hashable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The six bytes in wire order.
    public let bytes: [UInt8]

    /// Wraps six bytes; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses six hex pairs separated by colons or hyphens.
    public init(parsing text: String) throws(BerthError) {
        guard let parsed = MACAddress(text) else {
            throw .invalid("invalid MAC address \"\(text)\"", hint: "write six hex pairs separated by colons, like 02:42:0a:58:00:02")
        }
        self = parsed
    }

    /// Parses six hex pairs separated by colons or hyphens; nil if malformed.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 17 else { return nil }
        let separator = utf8[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(6)
        for i in 0..<6 {
            let base = i * 3
            if i > 0, utf8[base - 1] != separator { return nil }
            guard let hi = Self.nibble(utf8[base]), let lo = Self.nibble(utf8[base + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        bytes = out
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The group bit: frames to this address go to many receivers. No interface may have one.
    public var isMulticast: Bool { bytes[0] & 1 == 1 }
    /// The locally administered bit, set on every address Berth generates.
    public var isLocallyAdministered: Bool { bytes[0] & 2 == 2 }
    /// 00:00:00:00:00:00.
    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// A unicast, locally administered address derived from an IPv4 address
    /// (`02:42:` followed by the four octets), so an endpoint's MAC is stable across
    /// re-creation and readable at a glance — the scheme Docker uses.
    public init(derivedFrom address: IPv4Address) {
        bytes = [0x02, 0x42] + address.bytes
    }

    /// The MAC an endpoint of an IPv6-only network gets: `02:42` and the low 32 bits of its
    /// IPv6 address (the part IPAM hands out from the subnet's start), as the IPv4 form does.
    public init(derivedFrom address: IPv6Address) {
        bytes = [0x02, 0x42] + address.bytes.suffix(4)
    }

    public var description: String {
        // Written byte by byte into one buffer: the map/joined form cost ~130k instructions,
        // 3 % of a CLI attach (callgrind, perf3), in String and array machinery.
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 17) { buffer in
            digits.withUTF8Buffer { hex in
                var index = 0
                for (position, byte) in bytes.enumerated() {
                    if position > 0 {
                        buffer[index] = UInt8(ascii: ":")
                        index += 1
                    }
                    buffer[index] = hex[Int(byte >> 4)]
                    buffer[index + 1] = hex[Int(byte & 0x0f)]
                    index += 2
                }
                return index
            }
        }
    }
}
