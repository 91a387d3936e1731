/// Renders rtnetlink request bytes as annotated hex, one line per netlink header, family
/// struct and attribute, nested attributes indented: the form goldens are written in.
///
/// Written from the uapi headers independently of the code under test, so a wrong number
/// there shows up here as a wrong name. Namespace fds vary from run to run; their value is
/// shown as `<fd>` and `xx` bytes. Shared by the rtnetlink request goldens and the fake
/// kernel's request log.
public enum NetlinkAnnotator {
    public static func annotate(_ bytes: [UInt8]) -> String {
        var lines: [String] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(u32(bytes, offset))
            guard length >= 16, offset + length <= bytes.count else {
                lines.append("truncated | " + hex(bytes[offset...]))
                break
            }
            let type = u16(bytes, offset + 4)
            let flags = u16(bytes, offset + 6)
            let sequence = u32(bytes, offset + 8)
            lines.append("nlmsghdr len=\(length) type=\(typeName(type)) flags=\(flagNames(flags, type: type)) seq=\(sequence) | "
                         + hex(bytes[offset..<offset + 16]))
            let body = Array(bytes[(offset + 16)..<(offset + length)])
            lines += annotateBody(body, type: type)
            offset += (length + 3) & ~3
        }
        return lines.joined(separator: "\n")
    }

    private static func annotateBody(_ body: [UInt8], type: UInt16) -> [String] {
        switch type {
        case 16...19:
            return annotateIfinfo(body, indent: "")
        case 20...22:
            guard body.count >= 8 else { return ["short ifaddrmsg | " + hex(body[...])] }
            return ["ifaddrmsg family=\(body[0]) prefixlen=\(body[1]) flags=\(body[2]) scope=\(body[3]) index=\(u32(body, 4)) | " + hex(body[0..<8])]
                + attributes(Array(body[8...]), table: addressAttributes, indent: "  ")
        case 24...26:
            guard body.count >= 12 else { return ["short rtmsg | " + hex(body[...])] }
            return ["rtmsg family=\(body[0]) dst_len=\(body[1]) src_len=\(body[2]) tos=\(body[3]) table=\(body[4]) protocol=\(body[5]) scope=\(body[6]) type=\(body[7]) flags=\(u32(body, 8)) | " + hex(body[0..<12])]
                + attributes(Array(body[12...]), table: routeAttributes, indent: "  ")
        case 36...38:
            return annotateTcmsg(body)
        default:
            return ["payload | " + hex(body[...])]
        }
    }

    /// struct tcmsg, then TCA_KIND and TCA_OPTIONS decoded for the kind named (tbf, netem).
    private static func annotateTcmsg(_ body: [UInt8]) -> [String] {
        guard body.count >= 20 else { return ["short tcmsg | " + hex(body[...])] }
        var lines = ["tcmsg family=\(body[0]) ifindex=\(Int32(bitPattern: u32(body, 4))) handle=\(tcHandle(u32(body, 8))) "
                     + "parent=\(tcHandle(u32(body, 12))) info=\(u32(body, 16)) | " + hex(body[0..<20])]
        var kind = ""
        var offset = 20
        while offset + 4 <= body.count {
            let length = Int(u16(body, offset)), rawType = u16(body, offset + 2)
            guard length >= 4, offset + length <= body.count else { lines.append("  bad attribute | " + hex(body[offset...])); break }
            let value = Array(body[(offset + 4)..<(offset + length)])
            let padded = min((length + 3) & ~3, body.count - offset)
            let whole = body[offset..<offset + padded]
            let nested = rawType & 0x8000 != 0 ? " NESTED" : ""
            switch rawType & 0x3FFF {
            case 1:
                kind = String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
                lines.append("  TCA_KIND \"\(kind)\" | " + hex(whole))
            case 2 where kind == "tbf":
                lines.append("  TCA_OPTIONS\(nested) | " + hex(whole.prefix(4)))
                lines += attributes(value, table: tbfAttributes, indent: "    ")
            case 2 where kind == "netem" && value.count >= 24:
                lines.append("  TCA_OPTIONS\(nested) | " + hex(whole.prefix(4)))
                lines.append("    tc_netem_qopt latency=\(u32(value, 0)) limit=\(u32(value, 4)) loss=\(u32(value, 8)) gap=\(u32(value, 12)) "
                             + "duplicate=\(u32(value, 16)) jitter=\(u32(value, 20)) | " + hex(value[0..<24]))
                lines += attributes(Array(value[24...]), table: netemAttributes, indent: "    ")
            default:
                lines.append("  attr\(rawType & 0x3FFF)\(nested) | " + hex(whole))
            }
            offset += padded
        }
        return lines
    }

    private static func tcHandle(_ value: UInt32) -> String {
        if value == 0xFFFF_FFFF { return "root" }
        return String(value >> 16, radix: 16) + ":" + String(value & 0xFFFF, radix: 16)
    }

    private static func annotateIfinfo(_ body: [UInt8], indent: String) -> [String] {
        guard body.count >= 16 else { return [indent + "short ifinfomsg | " + hex(body[...])] }
        let line = indent + "ifinfomsg family=\(body[0]) type=\(u16(body, 2)) index=\(Int32(bitPattern: u32(body, 4))) "
            + "flags=\(ifflags(u32(body, 8))) change=\(ifflags(u32(body, 12))) | " + hex(body[0..<16])
        return [line] + attributes(Array(body[16...]), table: linkAttributes, indent: indent + "  ")
    }

    // MARK: - Attributes

    private enum Value {
        case string, u8, u32, u64, mac, ip, fd, raw
        /// struct tc_tbf_qopt.
        case tbfQopt
        case nested([UInt16: (String, Value)])
        /// An ifinfomsg followed by link attributes (VETH_INFO_PEER).
        case ifinfo
    }

    private static let linkAttributes: [UInt16: (String, Value)] = [
        1: ("IFLA_ADDRESS", .mac), 3: ("IFLA_IFNAME", .string), 4: ("IFLA_MTU", .u32), 10: ("IFLA_MASTER", .u32),
        18: ("IFLA_LINKINFO", .nested(linkInfoAttributes)), 20: ("IFLA_IFALIAS", .string), 28: ("IFLA_NET_NS_FD", .fd),
        29: ("IFLA_EXT_MASK", .u32), 31: ("IFLA_NUM_TX_QUEUES", .u32), 32: ("IFLA_NUM_RX_QUEUES", .u32), 26: ("IFLA_AF_SPEC", .nested([10: ("AF_INET6", .nested([8: ("IFLA_INET6_ADDR_GEN_MODE", .u8)]))])),
    ]
    private static let linkInfoAttributes: [UInt16: (String, Value)] = [
        1: ("IFLA_INFO_KIND", .string), 2: ("IFLA_INFO_DATA", .nested([1: ("VETH_INFO_PEER", .ifinfo)])),
        4: ("IFLA_INFO_SLAVE_KIND", .string), 5: ("IFLA_INFO_SLAVE_DATA", .nested([4: ("IFLA_BRPORT_MODE", .u8)])),
    ]
    private static let addressAttributes: [UInt16: (String, Value)] = [
        1: ("IFA_ADDRESS", .ip), 2: ("IFA_LOCAL", .ip), 3: ("IFA_LABEL", .string), 4: ("IFA_BROADCAST", .ip), 8: ("IFA_FLAGS", .u32),
    ]
    private static let routeAttributes: [UInt16: (String, Value)] = [
        1: ("RTA_DST", .ip), 4: ("RTA_OIF", .u32), 5: ("RTA_GATEWAY", .ip), 6: ("RTA_PRIORITY", .u32), 7: ("RTA_PREFSRC", .ip),
        15: ("RTA_TABLE", .u32),
    ]

    private static let tbfAttributes: [UInt16: (String, Value)] = [
        1: ("TCA_TBF_PARMS", .tbfQopt), 4: ("TCA_TBF_RATE64", .u64), 6: ("TCA_TBF_BURST", .u32),
    ]
    private static let netemAttributes: [UInt16: (String, Value)] = [
        10: ("TCA_NETEM_LATENCY64", .u64), 11: ("TCA_NETEM_JITTER64", .u64),
    ]

    private static func attributes(_ bytes: [UInt8], table: [UInt16: (String, Value)], indent: String) -> [String] {
        var lines: [String] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(u16(bytes, offset))
            let rawType = u16(bytes, offset + 2)
            guard length >= 4, offset + length <= bytes.count else {
                lines.append(indent + "bad attribute | " + hex(bytes[offset...]))
                break
            }
            let type = rawType & 0x3FFF
            let nestedFlag = rawType & 0x8000 != 0 ? " NESTED" : ""
            let value = Array(bytes[(offset + 4)..<(offset + length)])
            let padded = offset + ((length + 3) & ~3) <= bytes.count ? (length + 3) & ~3 : length
            let whole = bytes[offset..<offset + padded]
            let (name, kind) = table[type] ?? ("attr\(type)", .raw)
            switch kind {
            case .nested(let inner):
                lines.append(indent + name + nestedFlag + " | " + hex(whole.prefix(4)))
                lines += attributes(value, table: inner, indent: indent + "  ")
            case .ifinfo:
                lines.append(indent + name + nestedFlag + " | " + hex(whole.prefix(4)))
                lines += annotateIfinfo(value, indent: indent + "  ")
            case .fd:
                lines.append(indent + name + " <fd> | " + hex(whole.prefix(4)) + " xx xx xx xx")
            default:
                lines.append(indent + name + nestedFlag + " " + render(value, kind) + " | " + hex(whole))
            }
            offset += padded
        }
        return lines
    }

    private static func render(_ value: [UInt8], _ kind: Value) -> String {
        switch kind {
        case .string:
            let text = String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
            return "\"\(text)\"" + (value.last == 0 ? "" : " (no NUL)")
        case .u8:
            return value.count == 1 ? "\(value[0])" : "?"
        case .u32:
            return value.count == 4 ? "\(u32(value, 0))" : "?"
        case .u64:
            return value.count == 8 ? "\(UInt64(u32(value, 0)) | UInt64(u32(value, 4)) << 32)" : "?"
        case .tbfQopt:
            // struct tc_ratespec rate (cell_log, linklayer, overhead, cell_align, mpu, rate),
            // peakrate (likewise), limit, buffer, mtu.
            guard value.count == 36 else { return "? (\(value.count) bytes)" }
            return "rate.linklayer=\(value[1]) rate.rate=\(u32(value, 8)) peakrate.rate=\(u32(value, 20)) "
                + "limit=\(u32(value, 24)) buffer=\(u32(value, 28)) mtu=\(u32(value, 32))"
        case .mac:
            return value.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
        case .ip:
            if value.count == 4 { return value.map(String.init).joined(separator: ".") }
            if value.count == 16 {
                return stride(from: 0, to: 16, by: 2).map { String(UInt16(value[$0]) << 8 | UInt16(value[$0 + 1]), radix: 16) }.joined(separator: ":")
            }
            return "?"
        default:
            return ""
        }
    }

    // MARK: - Names

    private static func typeName(_ type: UInt16) -> String {
        let names: [UInt16: String] = [
            16: "RTM_NEWLINK", 17: "RTM_DELLINK", 18: "RTM_GETLINK", 20: "RTM_NEWADDR", 21: "RTM_DELADDR", 22: "RTM_GETADDR",
            24: "RTM_NEWROUTE", 25: "RTM_DELROUTE", 26: "RTM_GETROUTE",
            36: "RTM_NEWQDISC", 37: "RTM_DELQDISC", 38: "RTM_GETQDISC",
        ]
        return names[type] ?? "\(type)"
    }

    private static func flagNames(_ flags: UInt16, type: UInt16) -> String {
        var names: [(UInt16, String)] = [(0x1, "REQUEST"), (0x2, "MULTI"), (0x4, "ACK"), (0x8, "ECHO")]
        let isGet = type >= 16 && type % 4 == 2
        names += isGet ? [(0x100, "ROOT"), (0x200, "MATCH")] : [(0x100, "REPLACE"), (0x200, "EXCL"), (0x400, "CREATE"), (0x800, "APPEND")]
        var parts = names.filter { flags & $0.0 != 0 }.map(\.1)
        let rest = flags & ~names.reduce(0) { $0 | $1.0 }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }

    private static func ifflags(_ flags: UInt32) -> String {
        var parts: [String] = []
        if flags & 1 != 0 { parts.append("UP") }
        let rest = flags & ~1
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }

    // MARK: - Bytes

    private static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }
}
