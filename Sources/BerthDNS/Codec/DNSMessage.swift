/// A whole DNS message: header, the four sections and EDNS.
///
/// Parsing is strict and bounded (docs/dns.md, "Codec limits"): a message is at most 65,535
/// bytes; the section counts must fit in the bytes before anything is read; every name is at
/// most 255 bytes with labels of at most 63 and compression pointers that point strictly
/// backwards, at most 64 hops; record data has exactly its type's layout; at most one OPT
/// record, in the additional section, with the root name; no trailing bytes. So the work
/// and memory for a message are linear in its size.
public struct DNSMessage: Sendable, Hashable {
    /// The header. Its counts are recomputed by the encoder; its low RCODE bits are kept in
    /// step with `responseCode`.
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    /// The additional section without the OPT record.
    public var additionals: [DNSRecord]
    /// The OPT record's contents, when the message has one.
    public var edns: DNSEDNS?

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSRecord] = [], authorities: [DNSRecord] = [],
                additionals: [DNSRecord] = [], edns: DNSEDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.edns = edns
    }

    /// Parses `bytes` as one message.
    public init(parsing bytes: [UInt8]) throws(DNSParseError) {
        var reader = try DNSReader(bytes)
        self = try reader.readMessage()
    }

    /// The header and the first question only, for matching an upstream's reply to the
    /// query it answers without parsing (or trusting) the rest.
    static func header(andFirstQuestionOf bytes: [UInt8]) throws(DNSParseError) -> (DNSHeader, DNSQuestion?) {
        var reader = try DNSReader(bytes)
        guard let header = DNSHeader(bytes) else { throw .shortHeader(length: bytes.count) }
        reader.skipHeader()
        return (header, header.questionCount == 0 ? nil : try reader.readQuestion())
    }

    /// Where the OPT record's CLASS field (the UDP payload size; the extended RCODE, version
    /// and DO follow in its TTL) starts in `bytes`, when the message has an OPT record.
    /// Bounds-checked: nil for bytes that do not reach it.
    static func optClassOffset(in bytes: [UInt8]) -> Int? {
        guard var reader = try? DNSReader(bytes), let header = DNSHeader(bytes) else { return nil }
        reader.skipHeader()
        do throws(DNSParseError) {
            for _ in 0..<header.questionCount { _ = try reader.readQuestion() }
            let records = Int(header.answerCount) + Int(header.authorityCount) + Int(header.additionalCount)
            for _ in 0..<records {
                _ = try reader.readName()
                let type = try reader.readUInt16()
                if type == DNSRecordType.opt.rawValue { return reader.remaining >= 8 ? reader.position : nil }
                _ = try reader.readBytes(6) // class, TTL
                _ = try reader.readBytes(Int(try reader.readUInt16()))
            }
        } catch {
            return nil
        }
        return nil
    }

    /// The full response code: the header's 4 bits, plus the OPT record's 8 high bits.
    public var responseCode: DNSResponseCode {
        get { DNSResponseCode(rawValue: UInt16(edns?.extendedResponseCode ?? 0) << 4 | UInt16(header.responseCodeLow)) }
        set {
            header.responseCodeLow = UInt8(newValue.rawValue & 0x0F)
            let high = UInt8(newValue.rawValue >> 4)
            if edns != nil { edns?.extendedResponseCode = high }
        }
    }

    /// The UDP payload the sender of this message can take: its EDNS size, else 512.
    public var senderPayloadSize: Int { edns?.effectivePayloadSize ?? 512 }

    /// The response skeleton for this query: same id, opcode, RD, CD and question; QR set.
    /// EDNS is included (with `payloadSize`) when the query had it, as RFC 6891 requires,
    /// with the query's DO bit (RFC 3225 §3: copied into the response).
    public func responseSkeleton(code: DNSResponseCode, payloadSize: UInt16) -> DNSMessage {
        var header = DNSHeader(id: self.header.id)
        header.isResponse = true
        header.opcode = self.header.opcode
        header.recursionDesired = self.header.recursionDesired
        header.checkingDisabled = self.header.checkingDisabled
        var response = DNSMessage(header: header, questions: questions)
        if let edns { response.edns = DNSEDNS(udpPayloadSize: payloadSize, dnssecOK: edns.dnssecOK) }
        response.responseCode = code
        return response
    }

    /// Encodes the message, compressing names. When it would exceed `maxSize` bytes (the
    /// client's UDP payload size), records that do not fit are left out: a cut answer or
    /// authority section sets TC (the client retries over TCP); a cut additional section
    /// does not (RFC 2181 §9). The OPT record always fits.
    public func encoded(maxSize: Int = 65535) -> [UInt8] {
        var writer = DNSWriter(limit: min(max(maxSize, DNSHeader.size), 65535))
        return writer.write(self)
    }
}
