/// A non-empty range of port numbers, `start...end`, within 1–65535.
///
/// Text is `80` for a single port or `8000-8009` for a range, as in `docker run -p`.
public struct PortRange: Sendable, Hashable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The first port.
    public let start: UInt16
    /// The last port, inclusive.
    public let end: UInt16

    /// A range from `start` to `end` inclusive; both 1–65535, `start` not after `end`.
    public init(_ start: UInt16, _ end: UInt16) throws(BerthError) {
        guard start != 0, end != 0 else {
            throw .invalid("invalid port range \(start)-\(end): port 0 is not a port", hint: "use ports from 1 to 65535")
        }
        guard start <= end else {
            throw .invalid("invalid port range \(start)-\(end): the range is reversed", hint: "write the lower port first: \(end)-\(start)")
        }
        self.start = start
        self.end = end
    }

    /// The single port `port`, 1–65535.
    public init(_ port: UInt16) throws(BerthError) {
        try self.init(port, port)
    }

    /// Parses `PORT` or `START-END`.
    public init(parsing text: String) throws(BerthError) {
        self = try PortRange(parsing: Substring(text), role: "port")
    }

    /// Parses `PORT` or `START-END`; nil if malformed.
    public init?(_ text: String) {
        guard let parsed = try? PortRange(parsing: text) else { return nil }
        self = parsed
    }

    /// Parses with errors that call the value `role` ("host port", "container port").
    init(parsing text: Substring, role: String, in spec: String? = nil) throws(BerthError) {
        let prefix = spec.map { "invalid port mapping \"\($0)\": " } ?? ""
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw .invalid("\(prefix)\(role) range \"\(text)\" has more than one '-'", hint: "write a range as START-END, like 8000-8009")
        }
        let start = try Self.port(parts[0], whole: text, role: role, prefix: prefix)
        let end = parts.count == 2 ? try Self.port(parts[1], whole: text, role: role, prefix: prefix) : start
        guard start <= end else {
            throw .invalid("\(prefix)\(role) range \"\(text)\" is reversed", hint: "write the lower port first: \(end)-\(start)")
        }
        self.start = start
        self.end = end
    }

    /// One decimal port number. Leading zeros are read as decimal, as Docker reads them.
    private static func port(_ text: Substring, whole: Substring, role: String, prefix: String) throws(BerthError) -> UInt16 {
        let what = text == whole ? "\(role) \"\(text)\"" : "\(role) \"\(text)\" in \"\(whole)\""
        guard !text.isEmpty else {
            throw .invalid("\(prefix)\(role) \(whole.isEmpty ? "is empty" : "range \"\(whole)\" is missing a port number")", hint: "write a port number from 1 to 65535")
        }
        var value = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                throw .invalid("\(prefix)\(what) is not a number", hint: "write a port number from 1 to 65535")
            }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            if value > Int(UInt16.max) {
                throw .invalid("\(prefix)\(what) is over 65535", hint: "write a port number from 1 to 65535")
            }
        }
        guard value != 0 else {
            throw .invalid("\(prefix)\(what) is 0, which is not a port", hint: role == "host port"
                ? "leave the host port out to get a free one (-p 80, -p 127.0.0.1::80)"
                : "write a port number from 1 to 65535")
        }
        return UInt16(value)
    }

    /// How many ports the range holds.
    public var count: Int { Int(end) - Int(start) + 1 }

    /// Whether the range is one port.
    public var isSinglePort: Bool { start == end }

    /// The ports, for iteration.
    public var ports: ClosedRange<UInt16> { start...end }

    /// Whether `port` lies in the range.
    public func contains(_ port: UInt16) -> Bool { ports.contains(port) }

    /// Whether the two ranges share a port.
    public func overlaps(_ other: PortRange) -> Bool { ports.overlaps(other.ports) }

    public var description: String { isSinglePort ? "\(start)" : "\(start)-\(end)" }
}
