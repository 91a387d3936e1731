/// An IPv4 address, stored as a 32-bit number in host byte order.
///
/// The text form is strict dotted-quad: four decimal numbers 0–255 without leading zeros
/// (a leading zero reads as octal to some parsers, so it is refused rather than guessed).
public struct IPv4Address: Sendable, Hashable, Comparable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The address as a number, most significant octet first (`10.0.0.1` is `0x0A00_0001`).
    public var value: UInt32

    /// The address whose number is `value`, most significant octet first.
    public init(_ value: UInt32) { self.value = value }

    /// The address `a.b.c.d`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Four bytes in network order, as the kernel and the wire carry them.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses dotted-quad text such as `10.88.0.1`.
    public init(parsing text: String) throws(BerthError) {
        guard let parsed = IPv4Address(text) else {
            throw .invalid("invalid IPv4 address \"\(text)\"", hint: "write four numbers 0-255 separated by dots, like 10.88.0.1")
        }
        self = parsed
    }

    /// Parses strict dotted-quad text; nil if malformed or an octet has a leading zero.
    public init?(_ text: String) {
        var result: UInt32 = 0
        var parts = 0
        var digits = 0
        var current: UInt32 = 0
        var leadingZero = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if leadingZero { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                current = current * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || current > 255 { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | current
                parts += 1
                digits = 0
                current = 0
                leadingZero = false
            default:
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        value = result << 8 | current
    }

    /// The four octets, most significant first.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var description: String {
        "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
    }

    /// 127.0.0.0/8.
    public var isLoopback: Bool { value >> 24 == 127 }
    /// 0.0.0.0.
    public var isUnspecified: Bool { value == 0 }
    /// 224.0.0.0/4.
    public var isMulticast: Bool { value >> 28 == 0xE }

    /// 0.0.0.0.
    public static let any = IPv4Address(0)
    /// 127.0.0.1.
    public static let loopback = IPv4Address(127, 0, 0, 1)

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}
