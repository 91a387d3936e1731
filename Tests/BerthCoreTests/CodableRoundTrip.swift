import Foundation
import Testing

/// Encodes `value` inside a one-field JSON object (single values are not valid top-level
/// JSON for every encoder) and decodes it back, returning the decoded value and the JSON text.
func jsonRoundTrip<T: Codable>(_ value: T) throws -> (value: T, json: String) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(Box(value: value))
    let decoded = try JSONDecoder().decode(Box<T>.self, from: data)
    return (decoded.value, String(decoding: data, as: UTF8.self))
}

/// Decodes `{"value": <json>}` as a `T`.
func jsonDecode<T: Codable>(_ type: T.Type, fromValue json: String) throws -> T {
    try JSONDecoder().decode(Box<T>.self, from: Data("{\"value\":\(json)}".utf8)).value
}

private struct Box<T: Codable>: Codable {
    var value: T
}
