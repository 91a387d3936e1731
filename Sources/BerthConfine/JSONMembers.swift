import BerthCore

/// Strict reading of a JSON object that Berth wrote (a supervisor request, a state row): every
/// member has the type its writer gave it, and a member the reader does not know is an error
/// rather than silently dropped, so that a value never comes back changed.
struct JSONMembers {
    let members: [(String, JSONValue)]
    /// What the object is, for messages ("confinement", "resource limits", …).
    let what: String
    /// The request field the whole object stands for.
    let parameter: String

    init(_ value: JSONValue, what: String, parameter: String, known: Set<String>) throws(BerthError) {
        self.what = what
        self.parameter = parameter
        guard let members = value.objectValue else {
            throw BerthError.invalid("\(what) is not a JSON object", parameter: parameter)
        }
        self.members = members
        if let unknown = members.first(where: { !known.contains($0.0) }) {
            throw BerthError.invalid("\(what) has an unknown member \"\(unknown.0)\"", parameter: parameter)
        }
    }

    func malformed(_ key: String) -> BerthError {
        BerthError.invalid("\(what): member \"\(key)\" is missing or malformed", parameter: parameter)
    }

    /// The member, or nil when it is absent or null.
    func optional(_ key: String) -> JSONValue? {
        guard let value = members.first(where: { $0.0 == key })?.1, !value.isNull else { return nil }
        return value
    }

    func value(_ key: String) throws(BerthError) -> JSONValue {
        guard let value = optional(key) else { throw malformed(key) }
        return value
    }

    func bool(_ key: String) throws(BerthError) -> Bool {
        guard let flag = optional(key)?.boolValue else { throw malformed(key) }
        return flag
    }

    /// A 64-bit unsigned value, written as the `Int64` with its bits (JSON integers are signed).
    func bits(_ key: String) throws(BerthError) -> UInt64 {
        guard let number = optional(key)?.int64Value else { throw malformed(key) }
        return UInt64(bitPattern: number)
    }

    func optionalBits(_ key: String) throws(BerthError) -> UInt64? {
        guard optional(key) != nil else { return nil }
        return try bits(key)
    }

    func strings(_ key: String) throws(BerthError) -> [String] {
        guard let array = optional(key)?.arrayValue else { throw malformed(key) }
        var strings: [String] = []
        for element in array {
            guard let text = element.stringValue else { throw malformed(key) }
            strings.append(text)
        }
        return strings
    }
}

extension JSONValue {
    /// A 64-bit unsigned value as the `Int64` with the same bits (see `JSONMembers.bits`).
    static func bits(_ value: UInt64) -> JSONValue { .integer(Int64(bitPattern: value)) }
}
