/// A span of time as `tc` and Go spell it: `20ms`, `1.5ms`, `250us`, `2s`, `100ns`.
///
/// Kept in nanoseconds, which is what the kernel's netem takes (TCA_NETEM_LATENCY64).
/// Prints in the largest whole unit.
public struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Nanoseconds.
    public let nanoseconds: UInt64

    /// A span of `nanoseconds` nanoseconds.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// No time at all.
    public static let zero = TimeSpan(nanoseconds: 0)

    /// Parses a span; a unit is required (`ns`, `us`, `ms`, `s`).
    public init(parsing text: String) throws(BerthError) {
        guard let span = TimeSpan(text) else {
            throw .invalid("invalid time \"\(text)\"", hint: "write a number and a unit, like 20ms, 1.5ms, 250us or 1s")
        }
        self = span
    }

    /// Parses a span; nil if malformed or over an hour (netem's delays are meant in
    /// milliseconds; an hour is a typo).
    public init?(_ text: String) {
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(lower.dropFirst(digits.count))
        let scale: Double
        switch unit {
        case "ns": scale = 1
        case "us", "µs", "usec": scale = 1e3
        case "ms", "msec": scale = 1e6
        case "s", "sec": scale = 1e9
        default: return nil
        }
        guard !digits.isEmpty, let value = Double(digits), value.isFinite, value >= 0 else { return nil }
        let ns = value * scale
        guard ns <= 3_600e9 else { return nil }
        nanoseconds = UInt64(ns.rounded())
    }

    public var description: String {
        for (unit, size) in [("s", UInt64(1_000_000_000)), ("ms", 1_000_000), ("us", 1000)] where nanoseconds % size == 0 && nanoseconds > 0 {
            return "\(nanoseconds / size)\(unit)"
        }
        return "\(nanoseconds)ns"
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
