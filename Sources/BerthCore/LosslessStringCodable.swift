/// A value whose JSON form is its text: it encodes as the string `description` writes and
/// decodes by parsing that string, so state files and API JSON read like the command line
/// ("10.88.0.2/16", "02:42:0a:58:00:02", "8080:80/tcp") and a bad string is refused with
/// the parser's own message.
public protocol LosslessStringCodable: Codable, CustomStringConvertible {
    /// Parses the text `description` writes; throws `.invalidArgument` naming the problem.
    init(parsing text: String) throws(BerthError)
}

extension LosslessStringCodable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Self(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
