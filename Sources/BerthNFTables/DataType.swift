public import BerthCore

/// One nftables data type, as a set's key or data declares it (`ipv4_addr`, `inet_service`…).
public enum DataType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `ipv4_addr`: 4 bytes, network order.
    case ipv4Address = "ipv4_addr"
    /// `ipv6_addr`: 16 bytes, network order.
    case ipv6Address = "ipv6_addr"
    /// `inet_proto`: a layer 4 protocol number, 1 byte.
    case inetProto = "inet_proto"
    /// `inet_service`: a port, 2 bytes, network order.
    case inetService = "inet_service"
    /// `ifname`: an interface name, 16 bytes NUL-padded.
    case ifname = "ifname"
    /// `mark`: a packet mark, 4 bytes, host order.
    case mark = "mark"

    /// nft's TYPE_* number, stored in the set so that `nft` knows how to print it.
    var typeID: UInt32 {
        switch self {
        case .ipv4Address: 7
        case .ipv6Address: 8
        case .inetProto: 12
        case .inetService: 13
        case .ifname: 41
        case .mark: 19
        }
    }

    init?(typeID: UInt32) {
        guard let type = Self.allCases.first(where: { $0.typeID == typeID }) else { return nil }
        self = type
    }

    /// Bytes of one value.
    var length: Int {
        switch self {
        case .ipv4Address: 4
        case .ipv6Address: 16
        case .inetProto: 1
        case .inetService: 2
        case .ifname: 16
        case .mark: 4
        }
    }

    public var description: String { rawValue }
}

/// A set's key or data type: one data type or a concatenation (`ipv4_addr . inet_service`).
public struct TypeSpec: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The concatenated types, in order; never empty.
    public let components: [DataType]

    /// The concatenation of `components`, in order; a spec with none is refused when its set is queued.
    public init(_ components: [DataType]) { self.components = components }
    /// `[.ipv4Address, .inetService]` for `ipv4_addr . inet_service`.
    public init(arrayLiteral elements: DataType...) { self.components = elements }

    /// As nft prints it: `ipv4_addr . inet_service`.
    public var description: String { components.map(\.rawValue).joined(separator: " . ") }

    var isConcatenation: Bool { components.count > 1 }

    /// The combined type id: nft packs a concatenation's ids 6 bits each, first type highest.
    var typeID: UInt32 {
        components.reduce(0) { ($0 << 6) | $1.typeID }
    }

    init?(typeID: UInt32, length: Int) {
        var id = typeID
        var parts: [DataType] = []
        while id != 0 {
            guard let part = DataType(typeID: id & 0x3F) else { return nil }
            parts.insert(part, at: 0)
            id >>= 6
        }
        guard !parts.isEmpty else { return nil }
        self.components = parts
        guard self.length == length else { return nil }
    }

    /// Bytes of a key in the kernel: a concatenation pads every part to 4 bytes.
    var length: Int {
        isConcatenation ? components.reduce(0) { $0 + ($1.length + 3) & ~3 } : components[0].length
    }
}

/// A typed value of a set key, map data or match: one component of a (possibly concatenated) key.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address (`ipv4_addr`).
    case ipv4(IPv4Address)
    /// An IPv6 address (`ipv6_addr`).
    case ipv6(IPv6Address)
    /// A layer 4 protocol number (`tcp` = 6, `udp` = 17).
    case proto(UInt8)
    /// A port number.
    case port(UInt16)
    /// An interface name (`ifname`); only its first 15 bytes reach the kernel.
    case ifname(String)
    /// A packet mark (`mark`), printed as 8 hex digits.
    case mark(UInt32)

    /// `tcp` (6).
    public static let tcp = Value.proto(6)
    /// `udp` (17).
    public static let udp = Value.proto(17)
    /// `sctp` (132).
    public static let sctp = Value.proto(132)

    /// An address of either family.
    public static func address(_ address: IPAddress) -> Value {
        switch address {
        case .v4(let a): .ipv4(a)
        case .v6(let a): .ipv6(a)
        }
    }

    var type: DataType {
        switch self {
        case .ipv4: .ipv4Address
        case .ipv6: .ipv6Address
        case .proto: .inetProto
        case .port: .inetService
        case .ifname: .ifname
        case .mark: .mark
        }
    }

    /// As nft prints it.
    public var description: String {
        switch self {
        case .ipv4(let a): a.description
        case .ipv6(let a): a.description
        case .proto(let p): ProtocolName.name(p)
        case .port(let p): String(p)
        case .ifname(let n): "\"\(n)\""
        case .mark(let m): "0x" + hex(m, width: 8)
        }
    }

    /// The bytes as the kernel stores them (network order for addresses and ports, host order
    /// for marks; names NUL-padded to IFNAMSIZ).
    var bytes: [UInt8] {
        switch self {
        case .ipv4(let a): a.bytes
        case .ipv6(let a): a.bytes
        case .proto(let p): [p]
        case .port(let p): [UInt8(p >> 8), UInt8(p & 0xFF)]
        case .ifname(let n): Self.padded(n)
        case .mark(let m): withUnsafeBytes(of: m.littleEndian) { Array($0) }
        }
    }

    /// Appends `bytes` to `out`.
    func append(to out: inout [UInt8]) {
        switch self {
        case .ipv4(let a):
            let v = a.value
            out.append(UInt8(v >> 24))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
        case .proto(let p): out.append(p)
        case .port(let p):
            out.append(UInt8(p >> 8))
            out.append(UInt8(truncatingIfNeeded: p))
        default: out += bytes
        }
    }

    static func padded(_ name: String) -> [UInt8] {
        let utf8 = Array(name.utf8.prefix(15))
        return utf8 + [UInt8](repeating: 0, count: 16 - utf8.count)
    }

    /// Reads a value of `type` from its kernel bytes.
    init?(type: DataType, bytes: ArraySlice<UInt8>) {
        guard bytes.count >= type.length else { return nil }
        let b = Array(bytes.prefix(type.length))
        switch type {
        case .ipv4Address: guard let a = IPv4Address(bytes: b) else { return nil }; self = .ipv4(a)
        case .ipv6Address: guard let a = IPv6Address(bytes: b) else { return nil }; self = .ipv6(a)
        case .inetProto: self = .proto(b[0])
        case .inetService: self = .port(UInt16(b[0]) << 8 | UInt16(b[1]))
        case .ifname: self = .ifname(String(decoding: b.prefix(while: { $0 != 0 }), as: UTF8.self))
        case .mark: self = .mark(b.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
        }
    }

    /// The magnitude nft sorts a lone value by (its number, or a name's bytes read little-endian).
    var sortMagnitude: [UInt8] {
        switch self {
        case .ifname: bytes.reversed()
        case .mark(let m): withUnsafeBytes(of: m.bigEndian) { Array($0) }
        default: bytes
        }
    }
}

/// A whole key or data tuple in kernel layout and in nft's sort order.
enum Tuple {
    /// Kernel bytes: one value as is, a concatenation with every part padded to 4 bytes.
    static func bytes(_ values: [Value]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length(values))
        append(values, to: &out)
        return out
    }

    /// The length of `bytes(values)`, without making them.
    static func length(_ values: [Value]) -> Int {
        guard values.count > 1 else { return values.first?.type.length ?? 0 }
        var total = 0
        for value in values { total += (value.type.length + 3) & ~3 }
        return total
    }

    /// Appends `bytes(values)` to `out` with no array of its own per value: a batch of a
    /// thousand map elements encodes two tuples each.
    static func append(_ values: [Value], to out: inout [UInt8]) {
        guard values.count > 1 else {
            values.first?.append(to: &out)
            return
        }
        for value in values {
            value.append(to: &out)
            let length = value.type.length
            for _ in length..<((length + 3) & ~3) { out.append(0) }
        }
    }

    static func parse(_ bytes: [UInt8], as spec: TypeSpec) -> [Value]? {
        guard bytes.count >= spec.length else { return nil }
        if !spec.isConcatenation {
            return Value(type: spec.components[0], bytes: bytes[...]).map { [$0] }
        }
        var values: [Value] = []
        var offset = 0
        for type in spec.components {
            guard let value = Value(type: type, bytes: bytes[offset...]) else { return nil }
            values.append(value)
            offset += (type.length + 3) & ~3
        }
        return values
    }

    /// nft sorts a concatenation by its parts' unpadded bytes read as one little-endian number.
    static func sortKey(_ values: [Value]) -> [UInt8] {
        guard values.count > 1 else { return values.first?.sortMagnitude ?? [] }
        return values.flatMap(\.bytes).reversed()
    }

    static func description(_ values: [Value]) -> String {
        // Not `joined(separator:)`: the stdlib's unspecialised generic, whose first use in a
        // process (each batch message's text has one) costs ≈ 0.1 M instructions of lookups.
        var text = ""
        for (index, value) in values.enumerated() {
            if index > 0 { text += " . " }
            text += value.description
        }
        return text
    }
}

/// Names nft prints for layer 4 protocol numbers (from /etc/protocols as Debian ships it).
enum ProtocolName {
    static func name(_ number: UInt8) -> String {
        switch number {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 33: "dccp"
        case 58: "ipv6-icmp"
        case 132: "sctp"
        case 136: "udplite"
        default: String(number)
        }
    }

    /// Protocols whose `th dport` nft prints as `<name> dport` when `meta l4proto` matched it.
    static func hasPorts(_ number: UInt8) -> Bool {
        [6, 17, 33, 132, 136].contains(number)
    }
}

func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
