/// Why bytes are not an acceptable DNS message. Every case is a refusal of hostile or broken
/// input: the server answers FORMERR when it can read a query's header, and drops the rest.
public enum DNSParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer than the 12 bytes of a header.
    case shortHeader(length: Int)
    /// A field or section runs past the end of the message (counts that lie, a cut datagram).
    case truncated(offset: Int)
    /// The section counts need more bytes than the message has, before any is read.
    case countsExceedMessage
    /// A name longer than 255 bytes once decompressed.
    case nameTooLong(offset: Int)
    /// A compression pointer that does not point strictly backwards into earlier names
    /// (a loop, a forward pointer, a pointer into the header or past the end), or too many hops.
    case badPointer(offset: Int)
    /// A label type other than a length or a pointer (0x40, 0x80: extended labels, never
    /// used). A length byte over 63 always has one of these bits, so this is also how a
    /// label longer than 63 bytes shows.
    case reservedLabelType(offset: Int)
    /// The record's data does not have the layout its type requires.
    case badRecordData(type: DNSRecordType, offset: Int)
    /// An OPT record with a non-root name, outside the additional section, or twice.
    case badOPT(offset: Int)
    /// Bytes left over after the last counted record.
    case trailingBytes(count: Int)
    /// More than 65,535 bytes: no DNS message is that long.
    case messageTooLarge(length: Int)

    public var description: String {
        switch self {
        case .shortHeader(let length): "message of \(length) bytes is shorter than a header"
        case .truncated(let offset): "message ends inside a field at offset \(offset)"
        case .countsExceedMessage: "section counts need more bytes than the message has"
        case .nameTooLong(let offset): "name longer than 255 bytes at offset \(offset)"
        case .badPointer(let offset): "compression pointer at offset \(offset) does not point back to an earlier name"
        case .reservedLabelType(let offset): "reserved label type at offset \(offset)"
        case .badRecordData(let type, let offset): "malformed \(type) record data at offset \(offset)"
        case .badOPT(let offset): "misplaced or repeated OPT record at offset \(offset)"
        case .trailingBytes(let count): "\(count) bytes after the last record"
        case .messageTooLarge(let length): "message of \(length) bytes exceeds 65535"
        }
    }
}
