import BerthCore

/// A bounds-checked cursor over one message. Every read checks the remaining length first
/// and throws `DNSParseError` instead of trapping, so hostile bytes cannot crash the resolver.
struct DNSReader {
    let bytes: [UInt8]
    private(set) var position = 0

    /// The most compression pointers one name may follow. A name has at most 127 labels and
    /// a sane encoder needs one pointer per name; 64 bounds the work a crafted chain of
    /// pointers to pointers can cause.
    static let maxPointerHops = 64

    init(_ bytes: [UInt8]) throws(DNSParseError) {
        guard bytes.count <= 65535 else { throw .messageTooLarge(length: bytes.count) }
        guard bytes.count >= DNSHeader.size else { throw .shortHeader(length: bytes.count) }
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - position }

    mutating func skipHeader() { position = DNSHeader.size }

    mutating func readUInt8() throws(DNSParseError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(offset: position) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16() throws(DNSParseError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated(offset: position) }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func readUInt32() throws(DNSParseError) -> UInt32 {
        let high = try readUInt16()
        return UInt32(high) << 16 | UInt32(try readUInt16())
    }

    mutating func readBytes(_ count: Int) throws(DNSParseError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .truncated(offset: position) }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads a possibly compressed name. A pointer must point before the start of the label
    /// run that holds it, so each hop goes strictly backwards: no loop, no forward pointer,
    /// no pointer into the header (offsets under 12) or past the end.
    mutating func readName() throws(DNSParseError) -> DNSName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var cursor = position
        var runStart = position
        var hops = 0
        var resume: Int?
        while true {
            guard cursor < bytes.count else { throw .truncated(offset: cursor) }
            let length = bytes[cursor]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    position = resume ?? cursor + 1
                    return DNSName(trustedWire: wire)
                }
                let end = cursor + 1 + Int(length)
                guard end <= bytes.count else { throw .truncated(offset: cursor) }
                // +1 for the root label still to come.
                guard wire.count + 1 + Int(length) + 1 <= DNSName.maxLength else { throw .nameTooLong(offset: cursor) }
                wire.append(contentsOf: bytes[cursor..<end])
                cursor = end
            case 0xC0:
                guard cursor + 1 < bytes.count else { throw .truncated(offset: cursor) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[cursor + 1])
                hops += 1
                guard target >= DNSHeader.size, target < runStart, hops <= Self.maxPointerHops else {
                    throw .badPointer(offset: cursor)
                }
                if resume == nil { resume = cursor + 2 }
                runStart = target
                cursor = target
            default:
                // 0x40 and 0x80: extended label types (RFC 6891 §5 retired them).
                throw .reservedLabelType(offset: cursor)
            }
        }
    }

    mutating func readQuestion() throws(DNSParseError) -> DNSQuestion {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let recordClass = DNSClass(rawValue: try readUInt16())
        return DNSQuestion(name: name, type: type, recordClass: recordClass)
    }

    /// One record, or the OPT record's contents (returned separately; the caller checks
    /// where it may stand).
    enum Entry {
        case record(DNSRecord)
        case opt(DNSEDNS, nameIsRoot: Bool)
    }

    mutating func readEntry() throws(DNSParseError) -> Entry {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let rawClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let start = position
        guard remaining >= length else { throw .truncated(offset: start) }
        let end = start + length
        if type == .opt {
            let edns = try readOPTData(payloadSize: rawClass, ttl: ttl, end: end)
            return .opt(edns, nameIsRoot: name.wire == [0])
        }
        let data = try readData(type: type, length: length, end: end)
        guard position == end else { throw .badRecordData(type: type, offset: start) }
        return .record(DNSRecord(name: name, recordClass: DNSClass(rawValue: rawClass), ttl: ttl, data: data))
    }

    private mutating func readData(type: DNSRecordType, length: Int, end: Int) throws(DNSParseError) -> DNSRecordData {
        let start = position
        switch type {
        case .a:
            guard length == 4, let address = IPv4Address(bytes: try readBytes(4)) else { throw .badRecordData(type: type, offset: start) }
            return .a(address)
        case .aaaa:
            guard length == 16, let address = IPv6Address(bytes: try readBytes(16)) else { throw .badRecordData(type: type, offset: start) }
            return .aaaa(address)
        case .ns: return .ns(try readDataName(type: type, end: end))
        case .cname: return .cname(try readDataName(type: type, end: end))
        case .ptr: return .ptr(try readDataName(type: type, end: end))
        case .mx:
            guard length >= 3 else { throw .badRecordData(type: type, offset: start) }
            let preference = try readUInt16()
            return .mx(preference: preference, exchange: try readDataName(type: type, end: end))
        case .soa:
            let primary = try readDataName(type: type, end: end)
            let responsible = try readDataName(type: type, end: end)
            guard end - position == 20 else { throw .badRecordData(type: type, offset: start) }
            return .soa(DNSSOA(primaryServer: primary, responsible: responsible, serial: try readUInt32(),
                               refresh: try readUInt32(), retry: try readUInt32(), expire: try readUInt32(),
                               minimum: try readUInt32()))
        default:
            return .opaque(type: type, bytes: try readBytes(length))
        }
    }

    /// A name inside record data: its uncompressed bytes must stay inside the data.
    private mutating func readDataName(type: DNSRecordType, end: Int) throws(DNSParseError) -> DNSName {
        let start = position
        let name = try readName()
        guard position <= end else { throw .badRecordData(type: type, offset: start) }
        return name
    }

    private mutating func readOPTData(payloadSize: UInt16, ttl: UInt32, end: Int) throws(DNSParseError) -> DNSEDNS {
        var options: [DNSEDNS.Option] = []
        while position < end {
            let optionStart = position
            guard end - position >= 4 else { throw .badRecordData(type: .opt, offset: optionStart) }
            let code = try readUInt16()
            let length = Int(try readUInt16())
            guard end - position >= length else { throw .badRecordData(type: .opt, offset: optionStart) }
            options.append(DNSEDNS.Option(code: code, data: try readBytes(length)))
        }
        return DNSEDNS(udpPayloadSize: payloadSize, extendedResponseCode: UInt8(ttl >> 24),
                       version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0, options: options)
    }

    mutating func readMessage() throws(DNSParseError) -> DNSMessage {
        guard let header = DNSHeader(bytes) else { throw .shortHeader(length: bytes.count) }
        position = DNSHeader.size
        // The smallest question is 5 bytes (root name, type, class), the smallest record 11:
        // counts that promise more than the message holds are lies, refused before any
        // allocation they would drive.
        let recordCount = Int(header.answerCount) + Int(header.authorityCount) + Int(header.additionalCount)
        guard Int(header.questionCount) * 5 + recordCount * 11 <= remaining else { throw .countsExceedMessage }

        var message = DNSMessage(header: header)
        message.questions.reserveCapacity(Int(header.questionCount))
        for _ in 0..<header.questionCount { message.questions.append(try readQuestion()) }
        message.answers = try readSection(count: header.answerCount, optAllowed: false, edns: &message.edns)
        message.authorities = try readSection(count: header.authorityCount, optAllowed: false, edns: &message.edns)
        message.additionals = try readSection(count: header.additionalCount, optAllowed: true, edns: &message.edns)
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
        return message
    }

    private mutating func readSection(count: UInt16, optAllowed: Bool, edns: inout DNSEDNS?) throws(DNSParseError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        records.reserveCapacity(Int(count))
        for _ in 0..<count {
            let start = position
            switch try readEntry() {
            case .record(let record):
                records.append(record)
            case .opt(let options, let nameIsRoot):
                guard optAllowed, nameIsRoot, edns == nil else { throw .badOPT(offset: start) }
                edns = options
            }
        }
        return records
    }
}
