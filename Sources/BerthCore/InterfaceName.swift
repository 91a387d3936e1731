/// A network interface name the kernel accepts.
///
/// The rules are the kernel's own (`dev_valid_name`): 1–15 bytes (IFNAMSIZ less the NUL),
/// no '/', ':', whitespace or NUL, and not "." or "..". Checking here turns the kernel's
/// bare EINVAL into an error that says which rule the name broke.
public struct InterfaceName: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The longest name the kernel accepts, in bytes.
    public static let maxLength = 15

    /// The name.
    public let rawValue: String

    public init(_ name: String) throws(BerthError) {
        let fix = "use 1 to \(Self.maxLength) bytes of letters, digits, '-', '_' or '.'"
        let bytes = name.utf8
        if bytes.isEmpty {
            throw .invalid("interface name is empty", hint: fix)
        }
        if bytes.count > Self.maxLength {
            throw .invalid("interface name \"\(name)\" is \(bytes.count) bytes, over the kernel's limit of \(Self.maxLength)", hint: "choose a name of at most \(Self.maxLength) bytes")
        }
        if name == "." || name == ".." {
            throw .invalid("interface name \"\(name)\" is reserved", hint: fix)
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"), UInt8(ascii: ":"):
                throw .invalid("interface name \"\(name)\" contains '\(Character(Unicode.Scalar(byte)))'", hint: fix)
            case 0:
                throw .invalid("interface name \"\(name)\" contains a NUL byte", hint: fix)
            case UInt8(ascii: " "), 0x09...0x0D:
                throw .invalid("interface name \"\(name)\" contains whitespace", hint: fix)
            default:
                continue
            }
        }
        rawValue = name
    }

    public var description: String { rawValue }

    public static func < (lhs: InterfaceName, rhs: InterfaceName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try InterfaceName(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
