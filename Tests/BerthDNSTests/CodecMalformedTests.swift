import Testing
@testable import BerthDNS

@Suite("DNS codec: hostile and broken input")
struct CodecMalformedTests {
    static let question = labels("web") + hex("0001 0001")

    func parse(_ bytes: [UInt8]) -> DNSParseError? {
        do {
            _ = try DNSMessage(parsing: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("fewer than 12 bytes is not a message, and gets no FORMERR")
    func shortHeader() {
        #expect(parse(hex("1234 0100 0001")) == .shortHeader(length: 6))
        #expect(parse([]) == .shortHeader(length: 0))
        #expect(DNSResolver.formatError(for: hex("1234 0100 0001")) == nil)
    }

    @Test("more than 65,535 bytes is refused before reading")
    func tooLarge() {
        let bytes = header(qd: 0) + [UInt8](repeating: 0, count: 65524)
        #expect(parse(bytes) == .messageTooLarge(length: 65536))
    }

    @Test("counts that promise more than the bytes hold are refused up front")
    func lyingCounts() {
        #expect(parse(header(qd: 2) + Self.question) == .countsExceedMessage)
        #expect(parse(header(qd: 1, an: 0xFFFF) + Self.question) == .countsExceedMessage)
        #expect(parse(header(qd: 0xFFFF, an: 0xFFFF, ns: 0xFFFF, ar: 0xFFFF)) == .countsExceedMessage)
    }

    @Test("a field cut short is truncated at its offset")
    func truncatedField() {
        // The class of the question has one byte of two.
        #expect(parse(header() + labels("web") + hex("0001 00")) == .truncated(offset: 19))
        // A label that runs past the end.
        #expect(parse(header() + hex("3f 61 62 63 00 0001 0001")) == .truncated(offset: 12))
        // Record data shorter than its length says.
        let answer = labels("web") + hex("0001 0001 00000000 0004 0a59")
        #expect(parse(header(qd: 0, an: 1) + answer) == .truncated(offset: 27))
    }

    @Test("a length byte over 63 is a reserved label type")
    func labelOver63() {
        #expect(parse(header() + [64] + [UInt8](repeating: 0x61, count: 64) + [0] + hex("0001 0001")) == .reservedLabelType(offset: 12))
        #expect(parse(header() + hex("80 00 0001 0001")) == .reservedLabelType(offset: 12))
    }

    @Test("a name over 255 bytes is refused, also when pointers make it long")
    func longName() {
        let label63 = [UInt8(63)] + [UInt8](repeating: 0x61, count: 63)
        // Four labels of 63: 4 × 64 + 1 = 257 bytes.
        #expect(parse(header() + label63 + label63 + label63 + label63 + [0] + hex("0001 0001")) == .nameTooLong(offset: 204))
        // Exactly 255 bytes: three labels of 63, one of 61.
        let label61 = [UInt8(61)] + [UInt8](repeating: 0x62, count: 61)
        #expect(parse(header() + label63 + label63 + label63 + label61 + [0] + hex("0001 0001")) == nil)
        // 193 bytes in the question, then a name of one label of 63 pointing at it: 257.
        let first = label63 + label63 + label63 + [0] + hex("0001 0001")
        let second = label63 + hex("c00c") + hex("0001 0001")
        #expect(parse(header(qd: 2) + first + second) == .nameTooLong(offset: 140))
    }

    @Test("pointer to itself, forward, past the end, into the header: all refused")
    func badPointers() {
        #expect(parse(header() + hex("c00c 0001 0001")) == .badPointer(offset: 12))
        #expect(parse(header() + hex("01 61 c00c 0001 0001")) == .badPointer(offset: 14))
        #expect(parse(header() + hex("c010 0001 0001 00")) == .badPointer(offset: 12))
        #expect(parse(header() + hex("c0ff 0001 0001")) == .badPointer(offset: 12))
        #expect(parse(header() + hex("c005 0001 0001")) == .badPointer(offset: 12))
        #expect(parse(header() + hex("c0")) == .countsExceedMessage)
        #expect(parse(header() + hex("01 61 01 62 c0")) == .truncated(offset: 16))
    }

    @Test("a loop through two names is refused")
    func twoNameLoop() {
        // Question 1 at 12: label "a", then a pointer to question 2's name at 18; question 2
        // points back at 12. Each pointer alone looks plausible; together they loop.
        let bytes = header(qd: 2) + hex("01 61 c012 0001 0001") + hex("c00c 0001 0001")
        #expect(parse(bytes) == .badPointer(offset: 14))
    }

    @Test("a chain of more than 64 pointers is refused")
    func pointerChain() {
        // Question k points at question k−1's name: hops grow by one per question.
        var bytes = labels("a") + hex("0001 0001")
        var previous = 12
        for _ in 1...70 {
            let here = 12 + bytes.count
            bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)] + hex("0001 0001")
            previous = here
        }
        let error = parse(header(qd: 71) + bytes)
        guard case .badPointer = error else {
            Issue.record("expected badPointer, got \(String(describing: error))")
            return
        }
        // 64 hops are fine.
        #expect(parse(header(qd: 65) + bytes.prefix(7 + 64 * 6)) == nil)
    }

    @Test("record data that does not match its type is refused")
    func badRecordData() {
        let owner = labels("web")
        #expect(parse(header(qd: 0, an: 1) + owner + hex("0001 0001 00000000 0005 0a59000203")) == .badRecordData(type: .a, offset: 27))
        #expect(parse(header(qd: 0, an: 1) + owner + hex("001c 0001 00000000 0004 0a590002")) == .badRecordData(type: .aaaa, offset: 27))
        // A CNAME whose name runs past its 2-byte data.
        #expect(parse(header(qd: 0, an: 1) + owner + hex("0005 0001 00000000 0002") + labels("db")) == .badRecordData(type: .cname, offset: 27))
        // A CNAME with a byte to spare.
        #expect(parse(header(qd: 0, an: 1) + owner + hex("0005 0001 00000000 0005") + labels("db") + [0]) == .badRecordData(type: .cname, offset: 27))
        // An SOA without its five numbers.
        #expect(parse(header(qd: 0, an: 1) + owner + hex("0006 0001 00000000 0002 00 00")) == .badRecordData(type: .soa, offset: 27))
        // An OPT option longer than the record.
        #expect(parse(header(qd: 0, ar: 1) + hex("00 0029 1000 00000000 0006 000a 0008 0102")) == .badRecordData(type: .opt, offset: 23))
    }

    @Test("OPT: only one, only in the additional section, only with the root name")
    func badOPT() {
        let opt = hex("00 0029 1000 00000000 0000")
        #expect(parse(header(ar: 2) + Self.question + opt + opt) == .badOPT(offset: 21 + 11))
        #expect(parse(header(an: 1) + Self.question + opt) == .badOPT(offset: 21))
        #expect(parse(header(ar: 1) + Self.question + labels("x") + hex("0029 1000 00000000 0000")) == .badOPT(offset: 21))
    }

    @Test("bytes after the last record are refused")
    func trailing() {
        #expect(parse(header() + Self.question + [0, 0, 0]) == .trailingBytes(count: 3))
    }

    @Test("FORMERR keeps the id, opcode and RD, and carries no question")
    func formatErrorResponse() throws {
        let response = try #require(DNSResolver.formatError(for: header(id: 0xBEEF, flags: 0x0100) + hex("c00c")))
        #expect(response == hex("beef 8101 0000 0000 0000 0000"))
        // Never answer a response: that is how resolvers end up in loops.
        #expect(DNSResolver.formatError(for: header(flags: 0x8000) + hex("c00c")) == nil)
    }
}

@Suite("DNS over TCP framing")
struct FramingTests {
    @Test("frames split anywhere are put back together")
    func split() throws {
        let message = CodecTests.query
        let stream = try #require(DNSStreamFramer.frame(message)) + #require(DNSStreamFramer.frame(message))
        for cut in 0...stream.count {
            var framer = DNSStreamFramer()
            var frames = try framer.append(stream[..<cut])
            frames += try framer.append(stream[cut...])
            #expect(frames == [message, message])
            #expect(!framer.isMidFrame)
        }
    }

    @Test("the framer asks for exactly the rest of the frame")
    func bytesNeeded() throws {
        var framer = DNSStreamFramer()
        #expect(framer.bytesNeeded == 2)
        _ = try framer.append([0x00])
        #expect(framer.bytesNeeded == 1)
        _ = try framer.append([0xFF])
        #expect(framer.bytesNeeded == 255)
        _ = try framer.append([UInt8](repeating: 0, count: 200))
        #expect(framer.bytesNeeded == 55)
    }

    @Test("a 65,535-byte frame is the largest, and a zero-length frame is an error")
    func limits() throws {
        #expect(DNSStreamFramer.frame([UInt8](repeating: 1, count: 65535))?.count == 65537)
        #expect(DNSStreamFramer.frame([UInt8](repeating: 1, count: 65536)) == nil)
        var framer = DNSStreamFramer()
        #expect(throws: DNSStreamFramer.Failure.emptyFrame) { try framer.append([0, 0]) }
    }
}
