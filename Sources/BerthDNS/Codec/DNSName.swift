public import BerthCore

/// A domain name in its uncompressed wire form: length-prefixed labels ending with the
/// zero-length root label, at most 255 bytes, each label 1–63 bytes.
///
/// Names compare and hash case-insensitively (ASCII only, RFC 4343) but keep the case they
/// were written in, so an answer echoes a client's 0x20-randomised question exactly.
/// `web`, `web.` and `WEB.` are the same name: wire names are always fully qualified.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// The wire bytes, root label included.
    public let wire: [UInt8]

    /// The longest name, in wire bytes (RFC 1035 §2.3.4).
    public static let maxLength = 255
    /// The longest label.
    public static let maxLabelLength = 63
    /// The root name, `.`.
    public static let root = DNSName(trustedWire: [0])

    /// Wraps wire bytes the reader or a constructor here has already checked.
    init(trustedWire: [UInt8]) { wire = trustedWire }

    /// Builds a name from labels (without dots), checking their lengths.
    public init(labels: [some Collection<UInt8>]) throws(BerthError) {
        var wire: [UInt8] = []
        for label in labels {
            guard !label.isEmpty, label.count <= Self.maxLabelLength else {
                throw .invalid("DNS label \"\(String(decoding: label, as: UTF8.self))\" must be 1 to 63 bytes long")
            }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= Self.maxLength else { throw .invalid("DNS name is longer than 255 bytes") }
        self.wire = wire
    }

    /// Parses dotted text: `web`, `web.`, `db.example.com.`, or `.` for the root. A label is
    /// any bytes but `.`; there are no escapes. Empty labels (`a..b`), labels over 63 bytes
    /// and names over 255 bytes are refused.
    public init(parsing text: String) throws(BerthError) {
        if text == "." { self = .root; return }
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty else {
            throw .invalid("DNS name is empty", hint: "write a name such as web or db.example.com")
        }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.contains(where: \.isEmpty) {
            throw .invalid("DNS name \"\(text)\" has an empty label", hint: "remove the repeated or leading dot")
        }
        do { try self.init(labels: labels) } catch {
            throw .invalid("DNS name \"\(text)\" is invalid: \(error.message)", hint: "use labels of 1 to 63 bytes and at most 253 characters in all")
        }
    }

    /// Parses a host name as containers use them (an endpoint name or an alias): labels of
    /// letters, digits, `-` and `_`, not starting or ending with `-`.
    public init(hostname text: String) throws(BerthError) {
        let name = try DNSName(parsing: text)
        for label in name.labels + (name == .root ? [[]] : []) {
            let ok = !label.isEmpty && label.allSatisfy { Self.isHostnameByte($0) }
                && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
            guard ok else {
                throw .invalid("\"\(text)\" is not a valid DNS name",
                               hint: "use letters, digits, '-' and '_' in dot-separated labels of at most 63, not starting or ending with '-'")
            }
        }
        self = name
    }

    private static func isHostnameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// The labels, first (leftmost) first, without the root label.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = 0
        while index < wire.count, wire[index] != 0 {
            let length = Int(wire[index])
            result.append(wire[(index + 1)..<(index + 1 + length)])
            index += 1 + length
        }
        return result
    }

    /// The number of labels, the root not counted.
    public var labelCount: Int {
        var count = 0
        var index = 0
        while index < wire.count, wire[index] != 0 {
            count += 1
            index += 1 + Int(wire[index])
        }
        return count
    }

    /// The same name in lower case.
    public func lowercased() -> DNSName { DNSName(trustedWire: wire.map(Self.fold)) }

    /// This name with `suffix` appended (`web` + `net.` = `web.net.`), or nil when too long.
    public func appending(_ suffix: DNSName) -> DNSName? {
        let joined = wire.dropLast() + suffix.wire
        return joined.count <= Self.maxLength ? DNSName(trustedWire: Array(joined)) : nil
    }

    /// Whether this name equals `suffix` or ends with its labels (`a.b.c.` is under `b.c.`).
    public func isSubdomain(of suffix: DNSName) -> Bool {
        guard wire.count >= suffix.wire.count else { return false }
        // Walk label boundaries so that `xb.c.` is not taken for a name under `b.c.`.
        var index = 0
        while wire.count - index > suffix.wire.count {
            index += 1 + Int(wire[index])
        }
        guard wire.count - index == suffix.wire.count else { return false }
        return Self.equalFolded(wire[index...], suffix.wire[...])
    }

    /// ASCII case folding, the only folding DNS does.
    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    static func equalFolded(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { fold($0) == fold($1) }
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        equalFolded(lhs.wire[...], rhs.wire[...])
    }

    public func hash(into hasher: inout Hasher) {
        for byte in wire { hasher.combine(Self.fold(byte)) }
    }

    /// Dotted text with a trailing dot; bytes that are not printable ASCII, and `.` and `\`
    /// inside a label, are escaped as in zone files (`\046`, `\.`).
    public var description: String {
        if wire.count == 1 { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text.append("\\")
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                case 0x21...0x7E:
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            text += "."
        }
        return text
    }
}
