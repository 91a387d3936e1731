import BerthCore

// Decoding of ctnetlink entries and encoding of tuples. Numbers in conntrack attributes are
// big-endian (the kernel sends them in network byte order, with or without
// NLA_F_NET_BYTEORDER); every read is bounds-checked and a missing field becomes nil.

extension NetlinkAttributes.Attribute {
    var be16: UInt16? { u16.map(UInt16.init(bigEndian:)) }
    var be32: UInt32? { u32.map(UInt32.init(bigEndian:)) }
}

extension ConntrackEntry {
    /// Decodes an IPCTNL_MSG_CT_NEW message of a dump; nil if it is not one or lacks a tuple.
    init?(message: NetlinkMessage) {
        guard message.type == CTNL.new, message.payload.count >= CTNL.headerSize,
              let family = AddressFamily.family(message.payload[0]) else { return nil }
        let attributes = message.attributes(after: CTNL.headerSize)
        guard let original = attributes[CTA.tupleOrig].flatMap({ ConntrackTuple(attributes: $0.nested) }),
              let reply = attributes[CTA.tupleReply].flatMap({ ConntrackTuple(attributes: $0.nested) }) else { return nil }
        self.init(family: family, original: original, reply: reply,
                  status: ConntrackStatus(rawValue: attributes[CTA.status]?.be32 ?? 0),
                  timeout: attributes[CTA.timeout]?.be32, mark: attributes[CTA.mark]?.be32,
                  zone: attributes[CTA.zone]?.be16, id: attributes[CTA.id]?.be32)
    }
}

extension ConntrackTuple {
    /// ICMP and ICMPv6 protocol numbers and their key attributes (CTA_PROTO_ICMP*_ID/TYPE/CODE).
    private static let icmpAttributes: [UInt8: (id: UInt16, type: UInt16, code: UInt16)] = [1: (4, 5, 6), 58: (7, 8, 9)]

    /// Decodes the inside of CTA_TUPLE_ORIG or CTA_TUPLE_REPLY.
    init?(attributes: NetlinkAttributes) {
        guard let ip = attributes[CTA.tupleIP]?.nested, let proto = attributes[CTA.tupleProto]?.nested,
              let number = proto[CTA.protoNum]?.u8 else { return nil }
        let source = ip[CTA.ipV4Src] ?? ip[CTA.ipV6Src]
        let destination = ip[CTA.ipV4Dst] ?? ip[CTA.ipV6Dst]
        guard let source = source.flatMap({ IPAddress(bytes: $0.value) }),
              let destination = destination.flatMap({ IPAddress(bytes: $0.value) }) else { return nil }
        var icmp: ICMPKey?
        if let keys = Self.icmpAttributes[number], let id = proto[keys.id]?.be16,
           let type = proto[keys.type]?.u8, let code = proto[keys.code]?.u8 {
            icmp = ICMPKey(id: id, type: type, code: code)
        }
        self.init(source: source, destination: destination, protocolNumber: number,
                  sourcePort: proto[CTA.protoSrcPort]?.be16, destinationPort: proto[CTA.protoDstPort]?.be16, icmp: icmp)
    }

    /// Puts CTA_TUPLE_IP and CTA_TUPLE_PROTO, as the kernel needs them to find an entry.
    func put(into b: inout NetlinkMessageBuilder) {
        b.nest(CTA.tupleIP) { b in
            let v4 = source.family == .ipv4
            b.put(v4 ? CTA.ipV4Src : CTA.ipV6Src, bytes: source.bytes)
            b.put(v4 ? CTA.ipV4Dst : CTA.ipV6Dst, bytes: destination.bytes)
        }
        b.nest(CTA.tupleProto) { b in
            b.put(CTA.protoNum, u8: protocolNumber)
            if let sourcePort { b.put(CTA.protoSrcPort, u16: sourcePort.bigEndian) }
            if let destinationPort { b.put(CTA.protoDstPort, u16: destinationPort.bigEndian) }
            if let icmp, let keys = Self.icmpAttributes[protocolNumber] {
                b.put(keys.id, u16: icmp.id.bigEndian)
                b.put(keys.type, u8: icmp.type)
                b.put(keys.code, u8: icmp.code)
            }
        }
    }
}
