import BerthCore
import BerthNamespace
@testable import BerthNetlink
import BerthTestSupport
import Testing

/// The exact ctnetlink bytes, through a recorder: no kernel needed.
@Suite("conntrack request goldens")
struct ConntrackRequestGoldenTests {
    let transport = ConntrackFakeTransport()
    var conntrack: Conntrack { Conntrack(transport: transport) }

    private static func udp(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16) throws -> ConntrackTuple {
        try ConntrackTuple(.udp, source: IPAddress(parsing: source), sourcePort: sport, destination: IPAddress(parsing: destination), destinationPort: dport)
    }

    @Test("delete a UDP entry by its original tuple and id, ports big-endian")
    func deleteUDP() throws {
        let entry = try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 40000, "192.168.1.10", 8080),
                                       reply: Self.udp("10.88.0.2", 80, "10.0.0.1", 40000), status: [.confirmed, .destinationNAT], id: 0x1234_5678)
        #expect(try conntrack.delete(entry))
        expectGolden(transport.annotated, """
        nlmsghdr len=80 type=IPCTNL_MSG_CT_DELETE flags=REQUEST|ACK seq=1 | 50 00 00 00 02 01 05 00 01 00 00 00 00 00 00 00
        nfgenmsg family=2 version=0 res_id=0 | 02 00 00 00
          CTA_TUPLE_ORIG NESTED | 34 00 01 80
            CTA_TUPLE_IP NESTED | 14 00 01 80
              CTA_IP_V4_SRC 10.0.0.1 | 08 00 01 00 0a 00 00 01
              CTA_IP_V4_DST 192.168.1.10 | 08 00 02 00 c0 a8 01 0a
            CTA_TUPLE_PROTO NESTED | 1c 00 02 80
              CTA_PROTO_NUM 17 | 05 00 01 00 11 00 00 00
              CTA_PROTO_SRC_PORT 40000 | 06 00 02 00 9c 40 00 00
              CTA_PROTO_DST_PORT 8080 | 06 00 03 00 1f 90 00 00
          CTA_ID 305419896 | 08 00 0c 00 12 34 56 78
        """)
    }

    @Test("delete an IPv6 ICMP echo entry in a zone: identifier, type and code instead of ports")
    func deleteICMPv6() throws {
        let tuple = try ConntrackTuple(source: IPAddress(parsing: "fd00::1"), destination: IPAddress(parsing: "fd00::2"),
                                       protocolNumber: 58, icmp: .init(id: 7, type: 128, code: 0))
        let entry = ConntrackEntry(family: .ipv6, original: tuple, reply: tuple, zone: 3)
        try conntrack.delete(entry)
        expectGolden(transport.annotated, """
        nlmsghdr len=112 type=IPCTNL_MSG_CT_DELETE flags=REQUEST|ACK seq=1 | 70 00 00 00 02 01 05 00 01 00 00 00 00 00 00 00
        nfgenmsg family=10 version=0 res_id=0 | 0a 00 00 00
          CTA_TUPLE_ORIG NESTED | 54 00 01 80
            CTA_TUPLE_IP NESTED | 2c 00 01 80
              CTA_IP_V6_SRC fd00:0:0:0:0:0:0:1 | 14 00 03 00 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
              CTA_IP_V6_DST fd00:0:0:0:0:0:0:2 | 14 00 04 00 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
            CTA_TUPLE_PROTO NESTED | 24 00 02 80
              CTA_PROTO_NUM 58 | 05 00 01 00 3a 00 00 00
              CTA_PROTO_ICMPV6_ID 7 | 06 00 07 00 00 07 00 00
              CTA_PROTO_ICMPV6_TYPE 128 | 05 00 08 00 80 00 00 00
              CTA_PROTO_ICMPV6_CODE 0 | 05 00 09 00 00 00 00 00
          CTA_ZONE 3 | 06 00 12 00 00 03 00 00
        """)
    }

    @Test("a batch of deletions tolerates ENOENT per message (an entry that expired meanwhile): no second dump, no one-by-one retry; a single delete does not")
    func batchToleratesExpired() throws {
        let entries = try (0..<3).map { i in
            try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 40000 + UInt16(i), "192.168.1.10", 8080),
                               reply: Self.udp("10.88.0.2", 80, "10.0.0.1", 40000 + UInt16(i)))
        }
        #expect(try conntrack.delete(entries) == 3)
        #expect(transport.requests.count == 1)
        let batch = try #require(transport.requests.first)
        #expect(batch.entries.count == 3 && batch.entries.allSatisfy { $0.tolerated == [2] }, "\(batch.entries.map(\.tolerated))")
        try conntrack.delete(entries[0])
        #expect(transport.requests.last?.entries.map(\.tolerated) == [[]])
    }

    @Test("deleteEntries: one IPv4 dump, then the matching entries' deletions in one request")
    func deleteEntriesBatches() throws {
        let published = try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 40000, "10.0.0.5", 8080),
                                           reply: Self.udp("10.0.0.5", 8080, "10.0.0.1", 40000), id: 1)
        let other = try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 40001, "10.0.0.5", 8081),
                                       reply: Self.udp("10.0.0.5", 8081, "10.0.0.1", 40001), id: 2)
        let container = try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 40002, "10.0.0.5", 9000),
                                           reply: Self.udp("10.88.0.2", 53, "10.0.0.1", 40002), id: 3)
        transport.table = [published, other, container]
        let deleted = try conntrack.deleteEntries(matchingAny: [.destinationPort(8080, protocol: .udp, address: IPAddress(parsing: "10.0.0.5")),
                                                                .address(IPAddress(parsing: "10.88.0.2"))])
        #expect(deleted == 2)
        #expect(transport.requests.count == 2)
        let lines = transport.annotated.split(separator: "\n")
        #expect(lines.prefix(2).joined(separator: "\n") == """
        nlmsghdr len=20 type=IPCTNL_MSG_CT_GET flags=REQUEST|DUMP seq=1 | 14 00 00 00 01 01 01 03 01 00 00 00 00 00 00 00
        nfgenmsg family=2 version=0 res_id=0 | 02 00 00 00
        """)
        let deletions = lines.filter { $0.contains("IPCTNL_MSG_CT_DELETE") }
        #expect(deletions.count == 2 && deletions[0].contains("seq=2") && deletions[1].contains("seq=3"))
        #expect(lines.filter { $0.contains("CTA_ID") }.map { $0.split(separator: "|")[0] } == ["  CTA_ID 1 ", "  CTA_ID 3 "])
    }

    @Test("a delete refused for another reason than ENOENT is an error naming the entry")
    func deleteRefused() throws {
        transport.refusal = 1
        let entry = try ConntrackEntry(family: .ipv4, original: Self.udp("10.0.0.1", 1, "10.0.0.2", 2), reply: Self.udp("10.0.0.2", 2, "10.0.0.1", 1))
        let error = try #require(throws: BerthError.self) { try conntrack.delete(entry) }
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains("delete conntrack entry udp 10.0.0.1:1 -> 10.0.0.2:2"))
        transport.refusal = 2
        #expect(try conntrack.delete(entry) == false)
    }
}

@Suite("conntrack filters")
struct ConntrackFilterTests {
    private func entry(_ proto: TransportProtocol, _ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16,
                       replyFrom: String? = nil) throws -> ConntrackEntry {
        let original = try ConntrackTuple(proto, source: IPAddress(parsing: src), sourcePort: sport, destination: IPAddress(parsing: dst), destinationPort: dport)
        let reply = try ConntrackTuple(proto, source: IPAddress(parsing: replyFrom ?? dst), sourcePort: dport, destination: IPAddress(parsing: src), destinationPort: sport)
        return ConntrackEntry(family: original.source.family, original: original, reply: reply)
    }

    @Test("a published port matches its protocol and port, and its host address when it has one")
    func publishedPort() throws {
        let wildcard = ConntrackFilter.published(try PortMapping(protocol: .udp, hostPort: 8080, containerPort: 80))
        let bound = ConntrackFilter.published(try PortMapping(protocol: .udp, hostAddress: IPAddress(parsing: "127.0.0.1"), hostPort: 8080, containerPort: 80))
        let flow = try entry(.udp, "10.0.0.1", 5000, "10.0.0.5", 8080)
        #expect(wildcard.matches(flow))
        #expect(!bound.matches(flow))
        #expect(bound.matches(try entry(.udp, "127.0.0.1", 5000, "127.0.0.1", 8080)))
        #expect(!wildcard.matches(try entry(.tcp, "10.0.0.1", 5000, "10.0.0.5", 8080)))
        #expect(!wildcard.matches(try entry(.udp, "10.0.0.1", 8080, "10.0.0.5", 5000)))
        #expect("\(bound)" == "udp dport 8080 to 127.0.0.1")
        let range = try ConntrackFilter.destinationPort(PortRange(8000, 8009), protocol: .tcp, address: IPAddress(parsing: "0.0.0.0"))
        #expect(range.matches(try entry(.tcp, "10.0.0.1", 5000, "10.0.0.5", 8009)))
        #expect(!range.matches(try entry(.tcp, "10.0.0.1", 5000, "10.0.0.5", 8010)))
        #expect("\(range)" == "tcp dport 8000-8009")
    }

    @Test("an address matches either direction, including a DNATed flow's reply source")
    func address() throws {
        let filter = ConntrackFilter.address(try IPAddress(parsing: "10.88.0.2"))
        #expect(filter.matches(try entry(.udp, "10.0.0.1", 5000, "10.0.0.5", 8080, replyFrom: "10.88.0.2")))
        #expect(filter.matches(try entry(.tcp, "10.88.0.2", 5000, "1.1.1.1", 443)))
        #expect(!filter.matches(try entry(.tcp, "10.88.0.3", 5000, "1.1.1.1", 443)))
    }
}

/// A recorder that also plays a conntrack table for dumps and can refuse deletions.
final class ConntrackFakeTransport: NetlinkTransport, @unchecked Sendable {
    private(set) var requests: [NetlinkRequest] = []
    private var sequence: UInt32 = 0
    /// What dumps return.
    var table: [ConntrackEntry] = []
    /// An errno every transaction fails with, or 0.
    var refusal: Int32 = 0

    func nextSequence() -> UInt32 {
        sequence += 1
        return sequence
    }

    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        if refusal != 0, let first = request.entries.first {
            throw NetlinkError(errno: Errno(refusal), operation: first.operation, sequence: first.sequence)
        }
        return []
    }

    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        return table.map { entry in
            var builder = NetlinkMessageBuilder(type: CTNL.new, flags: NetlinkFlags.multi, sequence: 0)
            builder.putFamilyHeader(UInt32(entry.family == .ipv4 ? 2 : 10))
            builder.nest(CTA.tupleOrig) { b in entry.original.put(into: &b) }
            builder.nest(CTA.tupleReply) { b in entry.reply.put(into: &b) }
            if let id = entry.id { builder.put(CTA.id, u32: id.bigEndian) }
            let bytes = builder.bytes
            return bytes.withUnsafeBytes { NetlinkMessage.split($0) }[0]
        }
    }

    var annotated: String {
        requests.map { ConntrackAnnotator.annotate($0.bytes) }.joined(separator: "\n")
    }
}

/// Renders ctnetlink request bytes as annotated hex, written from the uapi headers
/// (nfnetlink_conntrack.h) independently of the code under test.
enum ConntrackAnnotator {
    private enum Value {
        case u8, be16, be32, ip
        case nested([UInt16: (String, Value)])
    }

    private static let proto: [UInt16: (String, Value)] = [
        1: ("CTA_PROTO_NUM", .u8), 2: ("CTA_PROTO_SRC_PORT", .be16), 3: ("CTA_PROTO_DST_PORT", .be16),
        4: ("CTA_PROTO_ICMP_ID", .be16), 5: ("CTA_PROTO_ICMP_TYPE", .u8), 6: ("CTA_PROTO_ICMP_CODE", .u8),
        7: ("CTA_PROTO_ICMPV6_ID", .be16), 8: ("CTA_PROTO_ICMPV6_TYPE", .u8), 9: ("CTA_PROTO_ICMPV6_CODE", .u8),
    ]
    private static let ip: [UInt16: (String, Value)] = [
        1: ("CTA_IP_V4_SRC", .ip), 2: ("CTA_IP_V4_DST", .ip), 3: ("CTA_IP_V6_SRC", .ip), 4: ("CTA_IP_V6_DST", .ip),
    ]
    private static let tuple: [UInt16: (String, Value)] = [1: ("CTA_TUPLE_IP", .nested(ip)), 2: ("CTA_TUPLE_PROTO", .nested(proto))]
    private static let top: [UInt16: (String, Value)] = [
        1: ("CTA_TUPLE_ORIG", .nested(tuple)), 2: ("CTA_TUPLE_REPLY", .nested(tuple)), 3: ("CTA_STATUS", .be32),
        7: ("CTA_TIMEOUT", .be32), 8: ("CTA_MARK", .be32), 12: ("CTA_ID", .be32), 18: ("CTA_ZONE", .be16),
    ]

    static func annotate(_ bytes: [UInt8]) -> String {
        var lines: [String] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(le(bytes, offset, 4))
            guard length >= 20, offset + length <= bytes.count else {
                lines.append("truncated | " + hex(bytes[offset...]))
                break
            }
            let type = UInt16(le(bytes, offset + 4, 2))
            let names: [UInt16: String] = [0x100: "IPCTNL_MSG_CT_NEW", 0x101: "IPCTNL_MSG_CT_GET", 0x102: "IPCTNL_MSG_CT_DELETE"]
            lines.append("nlmsghdr len=\(length) type=\(names[type] ?? "\(type)") flags=\(flags(UInt16(le(bytes, offset + 6, 2)))) "
                         + "seq=\(le(bytes, offset + 8, 4)) | " + hex(bytes[offset..<offset + 16]))
            let body = offset + 16
            lines.append("nfgenmsg family=\(bytes[body]) version=\(bytes[body + 1]) res_id=\(be(bytes, body + 2, 2)) | " + hex(bytes[body..<body + 4]))
            lines += attributes(Array(bytes[(body + 4)..<(offset + length)]), table: top, indent: "  ")
            offset += (length + 3) & ~3
        }
        return lines.joined(separator: "\n")
    }

    private static func attributes(_ bytes: [UInt8], table: [UInt16: (String, Value)], indent: String) -> [String] {
        var lines: [String] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(le(bytes, offset, 2))
            let rawType = UInt16(le(bytes, offset + 2, 2))
            guard length >= 4, offset + length <= bytes.count else {
                lines.append(indent + "bad attribute | " + hex(bytes[offset...]))
                break
            }
            let value = Array(bytes[(offset + 4)..<(offset + length)])
            let padded = min((length + 3) & ~3, bytes.count - offset)
            let flag = (rawType & 0x8000 != 0 ? " NESTED" : "") + (rawType & 0x4000 != 0 ? " NET_BYTEORDER" : "")
            let (name, kind) = table[rawType & 0x3FFF] ?? ("attr\(rawType & 0x3FFF)", .u8)
            switch kind {
            case .nested(let inner):
                lines.append(indent + name + flag + " | " + hex(bytes[offset..<offset + 4]))
                lines += attributes(value, table: inner, indent: indent + "  ")
            case .u8:
                lines.append(indent + name + flag + " \(value.first.map(String.init) ?? "?") | " + hex(bytes[offset..<offset + padded]))
            case .be16, .be32:
                lines.append(indent + name + flag + " \(be(value, 0, value.count)) | " + hex(bytes[offset..<offset + padded]))
            case .ip:
                let text = value.count == 4 ? value.map(String.init).joined(separator: ".")
                    : stride(from: 0, to: value.count, by: 2).map { String(be(value, $0, 2), radix: 16) }.joined(separator: ":")
                lines.append(indent + name + flag + " \(text) | " + hex(bytes[offset..<offset + padded]))
            }
            offset += padded
        }
        return lines
    }

    private static func flags(_ flags: UInt16) -> String {
        var parts = [(UInt16(0x1), "REQUEST"), (0x2, "MULTI"), (0x4, "ACK"), (0x8, "ECHO")].filter { flags & $0.0 != 0 }.map(\.1)
        if flags & 0x300 == 0x300 { parts.append("DUMP") }
        let rest = flags & ~0x30F
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }

    private static func le(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt32 {
        (0..<count).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func be(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt32 {
        (0..<count).reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }
}
