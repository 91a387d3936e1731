/// A network interface name the kernel accepts.
///
/// The rules are the kernel's own (`dev_valid_name`): 1–15 bytes (IFNAMSIZ less the NUL),
/// no '/', ':', whitespace (by the kernel's Latin-1 isspace(), which includes byte 0xA0) or NUL,
/// and not "." or "..". A '%' is refused too: the kernel takes such a name as a pattern
/// (`dev_get_valid_name`: "eth%d" becomes the first free eth0, eth1…, any other '%' is
/// EINVAL), so the link would not have the name asked for. Checking here turns the kernel's bare EINVAL into an error that says
/// which rule the name broke. Names compare byte for byte, as the kernel compares them.
public struct InterfaceName: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The longest name the kernel accepts, in bytes.
    public static let maxLength = 15

    /// The name.
    public let rawValue: String

    /// Checks `name` against the kernel's rules; throws naming the rule it breaks.
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
            case UInt8(ascii: "%"):
                throw .invalid("interface name \"\(name)\" contains '%', which the kernel takes as a pattern (\"%d\" becomes the first free number, so the link would be called otherwise)",
                               hint: fix)
            case UInt8(ascii: " "), 0x09...0x0D:
                throw .invalid("interface name \"\(name)\" contains whitespace", hint: fix)
            case 0xA0:
                // The kernel's isspace() follows Latin-1, where 0xA0 is a no-break space; in
                // UTF-8 it is a continuation byte, so "à" (C3 A0) fails with EINVAL.
                throw .invalid("interface name \"\(name)\" contains whitespace to the kernel (byte 0xA0, as in \"à\")", hint: fix)
            default:
                continue
            }
        }
        rawValue = name
    }

    public var description: String { rawValue }

    // The kernel compares names byte for byte; String's == and < follow Unicode canonical
    // equivalence, which would make "caf\u{E9}" and "cafe\u{301}" (two links) one name.
    public static func == (lhs: InterfaceName, rhs: InterfaceName) -> Bool {
        lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in rawValue.utf8 { hasher.combine(byte) }
        hasher.combine(rawValue.utf8.count)
    }

    /// Byte order, as the kernel's strcmp sorts.
    public static func < (lhs: InterfaceName, rhs: InterfaceName) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

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
