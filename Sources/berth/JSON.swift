import Berth

/// `--json` output uses BerthCore's Foundation-free JSON value.
typealias JSON = JSONValue

extension JSONValue {
    /// A string, or null when absent.
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
    /// An exact integer.
    static func int(_ value: some BinaryInteger) -> JSONValue { .integer(Int64(value)) }
}
