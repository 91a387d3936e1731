/// A data rate, as `tc` spells it: `100mbit`, `1gbit`, `512kbit`, `8000bit`, or in bytes
/// per second `125kbps`, `10mbps` (tc's `bps` is bytes, not bits).
///
/// Prefixes are decimal (k = 1000) as in tc; `kibit`, `mibit`, `gibit` and `kibps`,
/// `mibps`, `gibps` are binary (1024). Prints in the largest whole bit unit.
public struct DataRate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Bits per second.
    public let bitsPerSecond: UInt64

    /// A rate of `bitsPerSecond` bits per second.
    public init(bitsPerSecond: UInt64) { self.bitsPerSecond = bitsPerSecond }

    /// Bytes per second, rounded down: what the kernel's queueing disciplines count in.
    public var bytesPerSecond: UInt64 { bitsPerSecond / 8 }

    /// Parses a rate; a bare number is bits per second.
    public init(parsing text: String) throws(BerthError) {
        guard let rate = DataRate(text) else {
            throw .invalid("invalid rate \"\(text)\"", hint: "write a number and a unit, like 100mbit, 1gbit, 512kbit or 10mbps (bytes per second)")
        }
        self = rate
    }

    /// Parses a rate; nil if malformed, zero or over 2^64 - 1 bits per second.
    public init?(_ text: String) {
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(lower.dropFirst(digits.count))
        guard !digits.isEmpty, let value = Double(digits), value.isFinite, value > 0,
              let multiplier = Self.units[unit] else { return nil }
        let bits = value * multiplier
        guard bits >= 1, bits < 18_446_744_073_709_551_616.0 else { return nil }
        bitsPerSecond = UInt64(bits.rounded())
    }

    private static let units: [String: Double] = [
        "": 1, "bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
        "kibit": 1024, "mibit": 1_048_576, "gibit": 1_073_741_824, "tibit": 1_099_511_627_776,
        "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12,
        "kibps": 8 * 1024, "mibps": 8 * 1_048_576, "gibps": 8 * 1_073_741_824,
    ]

    public var description: String {
        for (unit, size) in [("tbit", UInt64(1_000_000_000_000)), ("gbit", 1_000_000_000), ("mbit", 1_000_000), ("kbit", 1000)]
        where bitsPerSecond % size == 0 {
            return "\(bitsPerSecond / size)\(unit)"
        }
        return "\(bitsPerSecond)bit"
    }

    public static func < (lhs: DataRate, rhs: DataRate) -> Bool { lhs.bitsPerSecond < rhs.bitsPerSecond }
}
