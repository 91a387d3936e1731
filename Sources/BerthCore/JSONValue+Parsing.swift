extension JSONValue {
    /// The deepest nesting the parser follows, so hostile input cannot exhaust the stack.
    public static let maxParsingDepth = 512

    /// Parses strict JSON (RFC 8259): one value, surrounded by optional whitespace.
    ///
    /// Refused, with the line and column in the message: trailing text, comments, trailing
    /// commas, single quotes, unescaped control characters in strings, lone surrogates in
    /// `\u` escapes, leading zeros, `NaN`/`Infinity`, numbers beyond `Double`'s range,
    /// repeated keys in an object (which readers disagree on), and nesting deeper than
    /// `maxParsingDepth`.
    public init(parsing text: String) throws(BerthError) {
        var parser = JSONParser(bytes: Array(text.utf8))
        self = try parser.parseDocument()
    }

    /// Parses strict JSON from UTF-8 bytes (as read from a pipe or file), refusing invalid UTF-8.
    public init(parsingUTF8 bytes: some Sequence<UInt8>) throws(BerthError) {
        try self.init(parsingUTF8: Array(bytes))
    }

    /// Parses strict JSON from UTF-8 bytes (see above); the form a reader's buffer takes.
    public init(parsingUTF8 bytes: [UInt8]) throws(BerthError) {
        // ASCII, which the documents Berth reads nearly always are, is valid UTF-8: checked
        // eight bytes at a time, it spares the copy a validating String makes (perf8).
        guard Self.isASCII(bytes) || String(validating: bytes, as: UTF8.self) != nil else {
            throw .invalid("invalid JSON: the input is not valid UTF-8", hint: "send JSON text encoded as UTF-8")
        }
        var parser = JSONParser(bytes: bytes)
        self = try parser.parseDocument()
    }

    /// Parses strict JSON from UTF-8 bytes as `init(parsingUTF8:)` does — every byte checked,
    /// the same errors at the same places — but builds only what `projection` keeps: an
    /// object's other members are left out of it. For a reader that needs a few members of
    /// a large document (the OCI hook's config.json).
    public init(parsingUTF8 bytes: [UInt8], keeping projection: JSONProjection) throws(BerthError) {
        guard Self.isASCII(bytes) || String(validating: bytes, as: UTF8.self) != nil else {
            throw .invalid("invalid JSON: the input is not valid UTF-8", hint: "send JSON text encoded as UTF-8")
        }
        var parser = JSONParser(bytes: bytes)
        self = try parser.parseDocument(keeping: projection)
    }

    /// Whether every byte is below 0x80.
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + 8 <= raw.count {
                if raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
                offset += 8
            }
            while offset < raw.count {
                if raw[offset] >= 0x80 { return false }
                offset += 1
            }
            return true
        }
    }
}

/// A recursive-descent parser over UTF-8 bytes. Each value is parsed under a projection
/// (`JSONProjection`) or skipped (nil): a skipped value is checked exactly as a kept one,
/// through the same code and errors, and stands as `.null` for the caller to drop.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// How many members an object may have before its repeated-key check uses a hash set.
    static let smallObject = 32

    mutating func parseDocument(keeping projection: JSONProjection = .all) throws(BerthError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw error("no JSON value (the input is empty)") }
        let value = try parseValue(projection)
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected \(describe(index)) after the JSON value") }
        return value
    }

    /// The value at `index` under `keep`; nil skips it (checked, `.null` returned). A value
    /// other than an object is kept whole whatever members `keep` names.
    private mutating func parseValue(_ keep: JSONProjection?) throws(BerthError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(keep)
        case UInt8(ascii: "["): return try parseArray(keeping: keep != nil)
        case UInt8(ascii: "\""):
            guard keep != nil else { try skipString(); return .null }
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber(building: keep != nil)
        default: throw error("unexpected \(describe(index)), expected a value")
        }
    }

    private mutating func parseObject(_ keep: JSONProjection?) throws(BerthError) -> JSONValue {
        try enter()
        index += 1 // {
        var members: [(String, JSONValue)] = []
        // The keys of members left out (not kept, or the whole object skipped): a key
        // repeated among them is refused as one among kept members is.
        var others: [String] = []
        // Repeated keys are found by comparing with the earlier ones while an object is
        // small, and by a hash set only past `smallObject` members: a process's first
        // String-keyed set costs the Swift runtime a scan of every conformance record
        // (~180,000 instructions, docs/performance.md, perf6), and the documents Berth reads
        // (CNI configurations, OCI state and config.json) have small objects. The set keeps
        // a large (hostile) object's check linear, so no object costs more than
        // `smallObject` comparisons per key.
        var keys: Set<String>?
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; depth -= 1; return keep == nil ? .null : .object(members) }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else {
                throw error("unexpected \(describe(index)), expected a string key" + (peek(UInt8(ascii: "}")) ? " (trailing commas are not JSON)" : ""))
            }
            let keyStart = index
            let key = try parseString()
            let repeated: Bool
            if let inserted = keys?.insert(key).inserted { // in place: no copy of the set
                repeated = !inserted
            } else if members.count + others.count < Self.smallObject {
                repeated = members.contains { $0.0 == key } || others.contains(key)
            } else {
                var set = Set(members.lazy.map(\.0))
                set.formUnion(others)
                repeated = !set.insert(key).inserted
                keys = set
            }
            guard !repeated else {
                throw error("key \"\(key)\" appears twice in one object", at: keyStart)
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("unexpected \(describe(index)), expected ':' after key \"\(key)\"") }
            index += 1
            skipWhitespace()
            if let projection = keep?.member(key) {
                members.append((key, try parseValue(projection)))
            } else {
                _ = try parseValue(nil)
                others.append(key)
            }
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; depth -= 1; return keep == nil ? .null : .object(members) }
            throw error("unexpected \(describe(index)), expected ',' or '}' in an object")
        }
    }

    /// An array, kept whole or skipped (`.null`).
    private mutating func parseArray(keeping keep: Bool) throws(BerthError) -> JSONValue {
        try enter()
        index += 1 // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; depth -= 1; return keep ? .array(elements) : .null }
        while true {
            skipWhitespace()
            if peek(UInt8(ascii: "]")) { throw error("unexpected ']', expected a value (trailing commas are not JSON)") }
            let element = try parseValue(keep ? .all : nil)
            if keep { elements.append(element) }
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; depth -= 1; return keep ? .array(elements) : .null }
            throw error("unexpected \(describe(index)), expected ',' or ']' in an array")
        }
    }

    private mutating func enter() throws(BerthError) {
        depth += 1
        guard depth <= JSONValue.maxParsingDepth else {
            throw error("nesting deeper than \(JSONValue.maxParsingDepth) levels")
        }
    }

    private mutating func parseString() throws(BerthError) -> String {
        let start = index
        index += 1 // "
        // Most strings have no escape: found whole and made into a String from the input's
        // bytes at once, not byte by byte through a buffer (perf8). An escape or a control
        // character hands over to the loop below, which starts again at the string's start.
        var end = index
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let text = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[index..<end]), as: UTF8.self) }
                index = end + 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            end += 1
        }
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00...0x1F:
                throw error("control character \(describe(index)) in a string", hint: "escape it, like \\n or \\u001f")
            default:
                utf8.append(byte)
                index += 1
            }
        }
    }

    /// Checks the string at `index` and moves past it, making no String of it: a string
    /// without escapes is found whole; one with an escape or a control character is read by
    /// `parseString`, from its start, for the same checks and errors.
    private mutating func skipString() throws(BerthError) {
        var end = index + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { index = end + 1; return }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            end += 1
        }
        _ = try parseString()
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(BerthError) {
        let start = index
        index += 1 // backslash
        guard index < bytes.count else { throw error("unterminated string", at: start) }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(byte)
        case UInt8(ascii: "\\"): utf8.append(byte)
        case UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4(escapeStart: start)
            if (0xD800...0xDBFF).contains(code) {
                // A high surrogate must be followed by an escaped low surrogate (UTF-16 pair).
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("lone high surrogate \\u\(hex(code)) (not followed by a \\u low surrogate)", at: start)
                }
                index += 2
                let low = try hex4(escapeStart: index - 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("high surrogate \\u\(hex(code)) followed by \\u\(hex(low)), not a low surrogate", at: start)
                }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(code) {
                throw error("lone low surrogate \\u\(hex(code))", at: start)
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw error("invalid code point \\u\(hex(code))", at: start)
            }
            utf8.append(contentsOf: scalar.utf8)
        default:
            throw error("invalid escape: \(describe(index - 1)) after '\\'", at: start, hint: "use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX")
        }
    }

    private mutating func hex4(escapeStart: Int) throws(BerthError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw error("unterminated \\u escape", at: escapeStart) }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("\\u escape needs four hex digits, found \(describe(index))", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A number, built or only checked (`.null`: its range is still checked when it has a
    /// fraction or an exponent).
    private mutating func parseNumber(building build: Bool) throws(BerthError) -> JSONValue {
        let start = index
        var isInteger = true
        if peek(UInt8(ascii: "-")) { index += 1 }
        if peek(UInt8(ascii: "0")) {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("number with a leading zero", at: start) }
        } else {
            guard digits() > 0 else { throw error("'-' without digits", at: start) }
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard digits() > 0 else { throw error("number needs a digit after '.'", at: start) }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard digits() > 0 else { throw error("number needs a digit in its exponent", at: start) }
        }
        if isInteger && !build { return .null }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger { return Int64(text).map(JSONValue.integer) ?? .largeInteger(text) }
        guard let value = Double(text), value.isFinite else {
            throw error("number \(text) is out of range", at: start)
        }
        return build ? .number(value) : .null
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        return index - start
    }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func literal(_ word: String) throws(BerthError) {
        for byte in word.utf8 {
            guard index < bytes.count, bytes[index] == byte else {
                throw error("unexpected \(describe(index)), expected '\(word)'", at: index)
            }
            index += 1
        }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    // MARK: - Errors

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.utf8.count)) + digits
    }

    /// The character at `offset`, quoted, for messages: `'x'`, `U+000A`, or "end of input".
    private func describe(_ offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x80 {
            // Show the whole scalar, not one byte of it.
            var end = offset + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            return "'\(String(decoding: bytes[offset..<end], as: UTF8.self))'"
        }
        return describeByte(byte)
    }

    private func describeByte(_ byte: UInt8) -> String {
        if byte < 0x20 || byte == 0x7F { return "U+" + hex(UInt32(byte)).uppercased() }
        return "'\(Character(Unicode.Scalar(byte)))'"
    }

    /// An error at `offset` (the current position by default), with its line and column:
    /// both 1-based, the column counted in characters (Unicode scalars) as editors show it.
    private func error(_ problem: String, at offset: Int? = nil, hint: String? = nil) -> BerthError {
        let offset = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        for byte in bytes[..<offset] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return .invalid("invalid JSON at line \(line), column \(column) (byte \(offset)): \(problem)", hint: hint)
    }
}
