import BerthCore
import Testing
@testable import BerthDNS

@Suite("DNS codec: goldens")
struct CodecTests {
    /// `dig +noedns web A` as it goes on the wire, id 0x1234.
    static let query = hex("1234 0100 0001 0000 0000 0000  03 776562 00  0001 0001")

    @Test("a query parses into header, question and nothing else")
    func parseQuery() throws {
        let message = try DNSMessage(parsing: Self.query)
        #expect(message.header.id == 0x1234)
        #expect(message.header.recursionDesired)
        #expect(!message.header.isResponse)
        #expect(message.header.opcode == .query)
        #expect(message.questions == [DNSQuestion(name: name("web"), type: .a)])
        #expect(message.answers.isEmpty && message.authorities.isEmpty && message.additionals.isEmpty)
        #expect(message.edns == nil)
        #expect(message.senderPayloadSize == 512)
    }

    @Test("a parsed query encodes to the same bytes")
    func queryRoundTrip() throws {
        #expect(try DNSMessage(parsing: Self.query).encoded() == Self.query)
    }

    @Test("an answer compresses its owner name to a pointer at the question (offset 12)")
    func answerGolden() throws {
        var answer = try DNSMessage(parsing: Self.query).responseSkeleton(code: .noError, payloadSize: 1232)
        answer.header.isAuthoritative = true
        answer.header.recursionAvailable = true
        answer.answers = [DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 0, 2)))]
        let golden = hex("""
            1234 8580 0001 0001 0000 0000  03 776562 00 0001 0001
            c00c 0001 0001 00000000 0004 0a590002
            """)
        #expect(answer.encoded() == golden)
        #expect(try DNSMessage(parsing: golden) == counted(answer))
    }

    @Test("compression keeps the question's case and matches names case-insensitively")
    func compressionCase() throws {
        var message = DNSMessage(header: DNSHeader(id: 7, flags: 0x8000))
        message.questions = [DNSQuestion(name: name("WeB.Example"), type: .a)]
        message.answers = [
            DNSRecord(name: name("web.example"), ttl: 60, data: .cname(name("db.EXAMPLE"))),
            DNSRecord(name: name("db.example"), ttl: 60, data: .a(IPv4Address(192, 0, 2, 1))),
        ]
        let golden = hex("""
            0007 8000 0001 0002 0000 0000
            03 576542 07 4578616d706c65 00  0001 0001
            c00c 0005 0001 0000003c 0005 02 6462 c010
            c029 0001 0001 0000003c 0004 c0000201
            """)
        let bytes = message.encoded()
        #expect(bytes == golden)
        let parsed = try DNSMessage(parsing: bytes)
        #expect(parsed.questions[0].name.wire == name("WeB.Example").wire)
        #expect(parsed.answers == message.answers)
    }

    @Test("EDNS: payload size, DO bit and options parse and encode exactly")
    func ednsGolden() throws {
        // A query with OPT: payload 4096, DO, one cookie option of 8 bytes.
        let bytes = header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 1000 00008000 000c 000a 0008 0102030405060708")
        let message = try DNSMessage(parsing: bytes)
        let edns = try #require(message.edns)
        #expect(edns.udpPayloadSize == 4096)
        #expect(edns.dnssecOK)
        #expect(edns.version == 0)
        #expect(edns.options == [DNSEDNS.Option(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])])
        #expect(message.additionals.isEmpty)
        #expect(message.senderPayloadSize == 4096)
        #expect(message.encoded() == bytes)
    }

    @Test("a payload size under 512 counts as 512")
    func smallPayload() throws {
        let bytes = header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 0100 00000000 0000")
        #expect(try DNSMessage(parsing: bytes).senderPayloadSize == 512)
    }

    @Test("extended response code: BADVERS puts 1 in the OPT record and 0 in the header")
    func extendedCode() throws {
        let query = try DNSMessage(parsing: header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 1000 00010000 0000"))
        let response = query.responseSkeleton(code: .badVersion, payloadSize: 1232)
        let bytes = response.encoded()
        #expect(bytes == hex("1234 8100 0001 0000 0000 0001") + labels("web") + hex("0001 0001") + hex("00 0029 04d0 01000000 0000"))
        #expect(try DNSMessage(parsing: bytes).responseCode == .badVersion)
    }

    @Test("a response copies the query's DO bit (RFC 3225 §3), and only that: no options")
    func dnssecOKCopied() throws {
        let query = try DNSMessage(parsing: header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 1000 00008000 000c 000a 0008 0102030405060708"))
        let bytes = query.responseSkeleton(code: .noError, payloadSize: 1232).encoded()
        #expect(bytes == hex("1234 8100 0001 0000 0000 0001") + labels("web") + hex("0001 0001") + hex("00 0029 04d0 00008000 0000"))
        let plain = try DNSMessage(parsing: header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 1000 00000000 0000"))
        #expect(plain.responseSkeleton(code: .noError, payloadSize: 1232).edns?.dnssecOK == false)
    }

    @Test("SOA, PTR, NS, MX and opaque records round-trip, names in data compressed")
    func recordTypes() throws {
        var message = DNSMessage(header: DNSHeader(id: 1, flags: 0x8400))
        message.questions = [DNSQuestion(name: name("2.0.89.10.in-addr.arpa"), type: .ptr)]
        message.answers = [DNSRecord(name: name("2.0.89.10.in-addr.arpa"), ttl: 0, data: .ptr(name("web.net")))]
        message.authorities = [
            DNSRecord(name: name("net"), ttl: 5, data: .soa(DNSSOA(primaryServer: name("ns.net"), responsible: name("hostmaster.net"),
                                                                   serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5))),
            DNSRecord(name: name("net"), ttl: 5, data: .ns(name("ns.net"))),
        ]
        message.additionals = [
            DNSRecord(name: name("net"), ttl: 5, data: .mx(preference: 10, exchange: name("mail.net"))),
            DNSRecord(name: name("net"), ttl: 5, data: .opaque(type: .txt, bytes: [3] + Array("abc".utf8))),
            DNSRecord(name: name("ns.net"), ttl: 5, data: .aaaa(IPv6Address(1))),
        ]
        let bytes = message.encoded()
        #expect(try DNSMessage(parsing: bytes) == counted(message))
        // "net" is written once in full (inside web.net), then pointed at.
        #expect(bytes.count == 190)
    }

    @Test("UDP truncation: answers that do not fit are left out and TC is set")
    func truncation() throws {
        var message = try DNSMessage(parsing: Self.query).responseSkeleton(code: .noError, payloadSize: 1232)
        message.answers = (1...40).map { DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 0, UInt8($0)))) }
        let full = message.encoded()
        #expect(full.count == 21 + 40 * 16)
        #expect(DNSHeader(full)?.isTruncated == false)

        let cut = message.encoded(maxSize: 512)
        let parsed = try DNSMessage(parsing: cut)
        #expect(cut.count <= 512)
        #expect(parsed.header.isTruncated)
        #expect(parsed.answers.count == (512 - 21) / 16)
        #expect(parsed.answers == Array(message.answers.prefix(parsed.answers.count)))
    }

    @Test("truncation keeps room for the OPT record")
    func truncationWithEDNS() throws {
        var message = try DNSMessage(parsing: Self.query).responseSkeleton(code: .noError, payloadSize: 1232)
        message.edns = DNSEDNS(udpPayloadSize: 1232)
        message.answers = (1...40).map { DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 0, UInt8($0)))) }
        let cut = message.encoded(maxSize: 512)
        let parsed = try DNSMessage(parsing: cut)
        #expect(cut.count <= 512)
        #expect(parsed.header.isTruncated)
        #expect(parsed.edns?.udpPayloadSize == 1232)
        #expect(parsed.answers.count == (512 - 21 - 11) / 16)
    }

    @Test("additional records that do not fit are dropped without TC")
    func additionalDropped() throws {
        var message = try DNSMessage(parsing: Self.query).responseSkeleton(code: .noError, payloadSize: 1232)
        message.answers = [DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 0, 2)))]
        message.additionals = (1...40).map { DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 1, UInt8($0)))) }
        let parsed = try DNSMessage(parsing: message.encoded(maxSize: 512))
        #expect(!parsed.header.isTruncated)
        #expect(parsed.answers.count == 1)
        #expect(parsed.additionals.count == (512 - 37) / 16)
    }

    @Test("header flags read and write their own bits")
    func headerBits() {
        var header = DNSHeader()
        header.isResponse = true
        header.opcode = .update
        header.isAuthoritative = true
        header.isTruncated = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.authenticData = true
        header.checkingDisabled = true
        header.responseCodeLow = 3
        #expect(header.flags == 0b1_0101_1_1_1_1_0_1_1_0011)
        header.opcode = .query
        header.isTruncated = false
        #expect(header.flags == 0b1_0000_1_0_1_1_0_1_1_0011)
    }
}
