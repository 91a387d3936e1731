import BerthCore
import BerthNetlink

// The fake kernel's side of the netlink wire: reading requests and writing replies.
// Numbers are from the uapi headers (rtnetlink.h, if_link.h, if_addr.h, veth.h,
// inet_diag.h), written here independently of BerthNetlink, so a wrong constant there
// shows up as a fake that does not understand the request.

enum RTM {
    static let newLink: UInt16 = 16, delLink: UInt16 = 17, getLink: UInt16 = 18
    static let newAddr: UInt16 = 20, delAddr: UInt16 = 21, getAddr: UInt16 = 22
    static let newRoute: UInt16 = 24, delRoute: UInt16 = 25, getRoute: UInt16 = 26
}

enum IFLA {
    static let address: UInt16 = 1, ifname: UInt16 = 3, mtu: UInt16 = 4, link: UInt16 = 5, master: UInt16 = 10
    static let operstate: UInt16 = 16, linkinfo: UInt16 = 18, ifalias: UInt16 = 20, afSpec: UInt16 = 26, netNSFD: UInt16 = 28
    static let linkNetNSID: UInt16 = 37
    static let infoKind: UInt16 = 1, infoData: UInt16 = 2, infoSlaveKind: UInt16 = 4, infoSlaveData: UInt16 = 5
    static let brportMode: UInt16 = 4, vethInfoPeer: UInt16 = 1
    /// IFLA_INET6_ADDR_GEN_MODE inside IFLA_AF_SPEC's AF_INET6 nest.
    static let inet6AddrGenMode: UInt16 = 8
}

enum IFA {
    static let address: UInt16 = 1, local: UInt16 = 2, label: UInt16 = 3, broadcast: UInt16 = 4, flags: UInt16 = 8
}

enum RTA {
    static let dst: UInt16 = 1, oif: UInt16 = 4, gateway: UInt16 = 5, priority: UInt16 = 6, prefsrc: UInt16 = 7, table: UInt16 = 15, multipath: UInt16 = 9
}

/// errno values the fake answers with, as the kernel does.
public enum FakeErrno {
    public static let noEntry: Int32 = 2
    public static let noSuchProcess: Int32 = 3
    public static let busy: Int32 = 16
    public static let exists: Int32 = 17
    public static let noDevice: Int32 = 19
    public static let invalid: Int32 = 22
    public static let notSupported: Int32 = 95
    public static let addressNotAvailable: Int32 = 99
    public static let networkDown: Int32 = 100
    public static let networkUnreachable: Int32 = 101
    public static let permission: Int32 = 1
}

/// One request message as the fake reads it.
struct WireMessage {
    let type: UInt16
    let flags: UInt16
    let sequence: UInt32
    /// The bytes after the 16-byte header.
    let body: [UInt8]

    /// Splits a request into its messages; stops at a malformed one.
    static func split(_ bytes: [UInt8]) -> [WireMessage] {
        var messages: [WireMessage] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(Wire.u32(bytes, offset))
            guard length >= 16, offset + length <= bytes.count else { break }
            messages.append(WireMessage(type: Wire.u16(bytes, offset + 4), flags: Wire.u16(bytes, offset + 6),
                                        sequence: Wire.u32(bytes, offset + 8), body: Array(bytes[(offset + 16)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return messages
    }

    func has(_ flag: UInt16) -> Bool { flags & flag != 0 }
}

/// Type-length-value attributes, read leniently (a bad length ends the list).
struct WireAttributes {
    private(set) var entries: [(type: UInt16, value: [UInt8])] = []

    init(_ bytes: [UInt8], from start: Int) {
        var offset = start
        while offset + 4 <= bytes.count {
            let length = Int(Wire.u16(bytes, offset))
            guard length >= 4, offset + length <= bytes.count else { break }
            entries.append((Wire.u16(bytes, offset + 2) & 0x3FFF, Array(bytes[(offset + 4)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
    }

    subscript(type: UInt16) -> [UInt8]? { entries.first { $0.type == type }?.value }

    func string(_ type: UInt16) -> String? {
        self[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    func u32(_ type: UInt16) -> UInt32? {
        guard let value = self[type], value.count >= 4 else { return nil }
        return Wire.u32(value, 0)
    }

    func nested(_ type: UInt16) -> WireAttributes? {
        self[type].map { WireAttributes($0, from: 0) }
    }
}

/// Little-endian reads and writes, and attribute framing.
enum Wire {
    static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    /// One attribute, padded to 4 bytes.
    static func attribute(_ type: UInt16, _ value: [UInt8], nested: Bool = false) -> [UInt8] {
        var bytes = le16(UInt16(4 + value.count)) + le16(type | (nested ? 0x8000 : 0)) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func string(_ type: UInt16, _ text: String) -> [UInt8] { attribute(type, Array(text.utf8) + [0]) }
    static func u32(_ type: UInt16, _ value: UInt32) -> [UInt8] { attribute(type, le32(value)) }

    /// A reply message (header fields the parsers read, and the body).
    static func message(type: UInt16, sequence: UInt32, flags: UInt16 = 0, body: [UInt8]) -> NetlinkMessage {
        NetlinkMessage(type: type, flags: flags, sequence: sequence, portID: 0, payload: body)
    }
}
