import BerthCore

/// Typed access to the members of a configuration object, with errors (code 7) that name
/// the key path and the type it should have.
///
/// `lenient` readers (DEL) treat a malformed optional key as absent, so teardown is never
/// blocked by a configuration edited since ADD; required keys are checked either way.
struct CNIConfigReader {
    let object: JSONValue
    let path: String
    let lenient: Bool

    init(_ object: JSONValue, path: String = "", lenient: Bool = false) {
        self.object = object
        self.path = path
        self.lenient = lenient
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func invalid(_ key: String, _ expected: String) -> CNIError {
        CNIError(.invalidConfig, "\"\(name(key))\" in the network configuration must be \(expected)")
    }

    func notObject() -> CNIError {
        CNIError(.invalidConfig, "\"\(path)\" in the network configuration must be an object")
    }

    /// The raw member, nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    /// Runs `parse` on a present member; in lenient mode a failure counts as absent.
    func optional<T>(_ key: String, _ parse: (JSONValue) throws(CNIError) -> T) throws(CNIError) -> T? {
        guard let value = value(key) else { return nil }
        do {
            return try parse(value)
        } catch {
            if lenient { return nil }
            throw error
        }
    }

    /// A string member. One holding U+0000 is refused even by a lenient reader: paths and
    /// names reach C cut short at it (another state directory, log file or plugin), and
    /// taken as absent it would name the default one.
    func string(_ key: String) throws(CNIError) -> String? {
        let text = try optional(key) { value throws(CNIError) in
            guard let text = value.stringValue else { throw invalid(key, "a string") }
            return text
        }
        try refuseNUL(key, text)
        return text
    }

    func requiredString(_ key: String) throws(CNIError) -> String {
        guard let text = value(key)?.stringValue, !text.isEmpty else {
            throw CNIError(.invalidConfig, "the network configuration has no \"\(name(key))\"", details: "add \"\(name(key))\": a non-empty string")
        }
        try refuseNUL(key, text)
        return text
    }

    /// Code 7 for a string holding U+0000 (`\u0000` in the JSON text).
    func refuseNUL(_ key: String, _ text: String?) throws(CNIError) {
        guard let text, text.utf8.contains(0) else { return }
        throw CNIError(.invalidConfig, "\"\(name(key))\" in the network configuration holds U+0000",
                       details: "remove the \\u0000: paths and names end at it")
    }

    func bool(_ key: String) throws(CNIError) -> Bool? {
        try optional(key) { value throws(CNIError) in
            guard let flag = value.boolValue else { throw invalid(key, "true or false") }
            return flag
        }
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(CNIError) -> Int? {
        try optional(key) { value throws(CNIError) in
            guard let number = value.intValue, range.contains(number) else {
                throw invalid(key, "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
    }

    func objectValue(_ key: String) throws(CNIError) -> JSONValue? {
        try optional(key) { value throws(CNIError) in
            guard case .object = value else { throw invalid(key, "an object") }
            return value
        }
    }

    func array(_ key: String) throws(CNIError) -> [JSONValue]? {
        try optional(key) { value throws(CNIError) in
            guard let elements = value.arrayValue else { throw invalid(key, "an array") }
            return elements
        }
    }

    /// A string member parsed by `make` (an address, a CIDR); `what` describes it.
    func parsed<T>(_ key: String, _ what: String, _ make: (String) -> T?) throws(CNIError) -> T? {
        try optional(key) { value throws(CNIError) in
            guard let text = value.stringValue, let parsed = make(text) else { throw invalid(key, what) }
            return parsed
        }
    }
}
