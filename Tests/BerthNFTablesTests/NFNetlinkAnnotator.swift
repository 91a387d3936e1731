/// Renders nf_tables read requests as annotated hex, one line per netlink header, nfgenmsg
/// and attribute: the form scoped-read goldens are written in.
///
/// Written from the uapi headers (linux/netfilter/nf_tables.h, nfnetlink.h) independently
/// of the code under test, so a wrong number there shows up here as a wrong name.
enum NFNetlinkAnnotator {
    static func annotate(_ bytes: [UInt8]) -> String {
        var lines: [String] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(u32(bytes, offset))
            guard length >= 16, offset + length <= bytes.count else {
                lines.append("truncated | " + hex(bytes[offset...]))
                break
            }
            let type = u16(bytes, offset + 4)
            lines.append("nlmsghdr len=\(length) type=\(typeName(type)) flags=\(flagNames(u16(bytes, offset + 6))) seq=\(u32(bytes, offset + 8)) | "
                         + hex(bytes[offset..<offset + 16]))
            let body = Array(bytes[(offset + 16)..<(offset + length)])
            if body.count >= 4 {
                let resID = UInt16(body[2]) << 8 | UInt16(body[3])
                lines.append("nfgenmsg family=\(familyName(body[0])) version=\(body[1]) res_id=\(resID) | " + hex(body[0..<4]))
                lines += attributes(Array(body[4...]), names: attributeNames[type & 0xff] ?? [:])
            } else {
                lines.append("payload | " + hex(body[...]))
            }
            offset += (length + 3) & ~3
        }
        return lines.joined(separator: "\n")
    }

    /// NFT_MSG_* (the low byte of nlmsg_type; the high byte is NFNL_SUBSYS_NFTABLES = 10).
    private static let messageNames: [UInt16: String] = [
        1: "NFT_MSG_GETTABLE", 4: "NFT_MSG_GETCHAIN", 7: "NFT_MSG_GETRULE", 10: "NFT_MSG_GETSET",
        13: "NFT_MSG_GETSETELEM", 16: "NFT_MSG_GETGEN",
    ]

    /// String attributes of the read requests, per message type.
    private static let attributeNames: [UInt16: [UInt16: String]] = [
        1: [1: "NFTA_TABLE_NAME"],
        4: [1: "NFTA_CHAIN_TABLE", 3: "NFTA_CHAIN_NAME"],
        7: [1: "NFTA_RULE_TABLE", 2: "NFTA_RULE_CHAIN"],
        10: [1: "NFTA_SET_TABLE", 2: "NFTA_SET_NAME"],
        13: [1: "NFTA_SET_ELEM_LIST_TABLE", 2: "NFTA_SET_ELEM_LIST_SET"],
    ]

    private static func typeName(_ type: UInt16) -> String {
        guard type >> 8 == 10 else { return "\(type)" }
        return messageNames[type & 0xff] ?? "NFT_MSG_\(type & 0xff)"
    }

    private static func familyName(_ family: UInt8) -> String {
        switch family {
        case 0: "unspec"
        case 1: "inet"
        case 2: "ip"
        case 10: "ip6"
        default: "\(family)"
        }
    }

    private static func flagNames(_ flags: UInt16) -> String {
        var names: [String] = []
        var rest = flags
        for (bit, name) in [(UInt16(0x01), "REQUEST"), (0x02, "MULTI"), (0x04, "ACK"), (0x08, "ECHO"), (0x300, "DUMP")]
        where rest & bit == bit {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 { names.append(String(rest, radix: 16)) }
        return names.isEmpty ? "0" : names.joined(separator: "|")
    }

    private static func attributes(_ bytes: [UInt8], names: [UInt16: String]) -> [String] {
        var lines: [String] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(u16(bytes, offset))
            guard length >= 4, offset + length <= bytes.count else {
                lines.append("  truncated attribute | " + hex(bytes[offset...]))
                break
            }
            let type = u16(bytes, offset + 2) & 0x3fff
            let value = bytes[(offset + 4)..<(offset + length)]
            let padded = min(bytes.count, offset + ((length + 3) & ~3))
            let text = names[type].map { "\($0) \"\(String(decoding: value.prefix { $0 != 0 }, as: UTF8.self))\"" } ?? "attribute \(type)"
            lines.append("  \(text) | " + hex(bytes[offset..<padded]))
            offset += (length + 3) & ~3
        }
        return lines
    }

    private static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
    private static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { UInt32(u16(bytes, offset)) | UInt32(u16(bytes, offset + 2)) << 16 }
    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined(separator: " ")
    }
}
