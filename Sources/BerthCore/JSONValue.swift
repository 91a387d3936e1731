/// A JSON document, built or parsed without Foundation (which the product leaves out for
/// start-up time).
///
/// Integers stay exact: as `Int64` (`.integer`), or beyond its range as their text
/// (`.largeInteger`: a uint64 limit such as 18446744073709551615 renders back as it was
/// written); other numbers are `Double` (`.number`).
/// Objects keep their keys in order, so output is stable and reads as it was built.
/// Equality is structural and order-sensitive: `{"a":1,"b":2}` is not `{"b":2,"a":1}`,
/// and `.integer(1)` is not `.number(1.0)`.
public enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// A number written without fraction or exponent beyond `Int64`'s range, as its text
    /// (an optional `-`, then digits without a leading zero), rendered back as it is.
    case largeInteger(String)
    /// Any other number. Infinity and NaN have no JSON form and render as `null`.
    case number(Double)
    /// A string.
    case string(String)
    /// Elements in order.
    case array([JSONValue])
    /// Members in order. Built values may repeat a key; parsed ones never do.
    case object([(String, JSONValue)])

    // MARK: - Accessors

    /// The member named `key` of an object (the first, if built with repeats); nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The element at `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The value of a `.bool`; nil otherwise.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value of a `.string`; nil otherwise.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as an exact integer: an `.integer`, or a `.number` with no fractional part
    /// that fits in `Int64` (`2.0` is 2, `2.5` is nil).
    public var int64Value: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value):
            // -2^63 is exact in Double; 2^63 is not representable in Int64, hence `<`.
            guard value.rounded(.towardZero) == value, value >= -9.223_372_036_854_775_808e18, value < 9.223_372_036_854_775_808e18 else { return nil }
            return Int64(value)
        default: return nil
        }
    }

    /// The value as an `Int` (see `int64Value`).
    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    /// Any number as a `Double` (large integers may round).
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        case .largeInteger(let text): Double(text).flatMap { $0.isFinite ? $0 : nil }
        default: nil
        }
    }

    /// The elements of an array; nil otherwise.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members of an object, in order.
    public var objectValue: [(String, JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    // MARK: - Rendering

    /// The JSON text: compact (`{"a":[1,2]}`, as `jq -c`), or pretty with two-space indents,
    /// `": "` after keys and `[]`/`{}` for empty containers (as `jq`). No trailing newline.
    ///
    /// Strings escape `"`, `\`, and control characters (`\n`, `\t`, ..., else `\u00XX`, and
    /// DEL as `\u007f` like jq); other Unicode is written as UTF-8.
    public func render(pretty: Bool = false) -> String {
        // Into bytes, then one String: appends to a byte array cost a fraction of String
        // appends (a CNI result's rendering: ~62,000 instructions as String appends; perf8).
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(to: &out, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The compact rendering.
    public var description: String { render() }

    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: Self.append("null", to: &out)
        case .bool(let value): Self.append(value ? "true" : "false", to: &out)
        case .integer(let value): Self.append(String(value), to: &out)
        case .number(let value): Self.append(value.isFinite ? value.description : "null", to: &out)
        case .largeInteger(let text): Self.append(text, to: &out)
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let elements):
            guard !elements.isEmpty else { Self.append("[]", to: &out); return }
            out.append(UInt8(ascii: "["))
            for i in elements.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Self.newline(&out, indent + 2) }
                elements[i].write(to: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { Self.newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { Self.append("{}", to: &out); return }
            out.append(UInt8(ascii: "{"))
            for i in members.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Self.newline(&out, indent + 2) }
                Self.writeString(members[i].0, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                members[i].1.write(to: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { Self.newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<indent { out.append(UInt8(ascii: " ")) }
    }

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (names, addresses, paths) need no escape: appended whole, the same
        // bytes the loop below would write, without its per-scalar appends (a CNI result's
        // two dozen strings cost ~110,000 instructions that way; docs/performance.md, perf6).
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 != 0x7F }) {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"", to: &out)
            case "\\": append("\\\\", to: &out)
            case "\n": append("\\n", to: &out)
            case "\r": append("\\r", to: &out)
            case "\t": append("\\t", to: &out)
            case "\u{08}": append("\\b", to: &out)
            case "\u{0C}": append("\\f", to: &out)
            case "\u{00}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16)
                append("\\u" + String(repeating: "0", count: 4 - hex.utf8.count) + hex, to: &out)
            default: out.append(contentsOf: scalar.utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: - Equality

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.largeInteger(let a), .largeInteger(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(1); hasher.combine(value)
        case .integer(let value): hasher.combine(2); hasher.combine(value)
        case .number(let value): hasher.combine(3); hasher.combine(value)
        case .largeInteger(let text): hasher.combine(7); hasher.combine(text)
        case .string(let value): hasher.combine(4); hasher.combine(value)
        case .array(let value): hasher.combine(5); hasher.combine(value)
        case .object(let members):
            hasher.combine(6)
            hasher.combine(members.count)
            for (key, value) in members { hasher.combine(key); hasher.combine(value) }
        }
    }
}

// Literals, so output can be written as it will print:
// `let v: JSONValue = ["name": "web", "ports": [80, 443], "ipv6": false]`.
extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// `nil` is `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A Boolean literal is `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal is `.integer`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// A floating-point literal is `.number`.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal is `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal is `.array`.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Keeps the members in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}
