import BerthCore
import Testing
@testable import BerthDNS

/// The forwarding path's byte handling, without sockets.
@Suite("DNS forwarding: what goes upstream and what comes back")
struct ForwardingTests {
    @Test("an upstream reply too large for the client becomes an empty TC answer that keeps the extended RCODE and DO")
    func truncatedRelayKeepsExtendedCode() throws {
        // The client asked with EDNS 512 and DO.
        let query = try DNSMessage(parsing: header(ar: 1) + labels("web") + hex("0001 0001") + hex("00 0029 0200 00008000 0000"))
        // The upstream answers BADCOOKIE (23: high bits 1 in the OPT, low bits 7 in the header) with 60 records.
        var upstream = query.responseSkeleton(code: .noError, payloadSize: 4096)
        upstream.header.recursionAvailable = true
        upstream.answers = (0..<60).map { DNSRecord(name: name("web"), ttl: 30, data: .a(IPv4Address(198, 51, 100, UInt8($0 + 1)))) }
        upstream.responseCode = DNSResponseCode(rawValue: 23)
        let reply = upstream.encoded()
        #expect(reply.count > 512)
        let cut = try #require(DNSServer.truncatedRelay(of: reply, to: query, payloadSize: 1232, limit: 512))
        let message = try DNSMessage(parsing: cut)
        #expect(message.header.isTruncated && message.header.recursionAvailable)
        #expect(message.answers.isEmpty)
        #expect(message.responseCode.rawValue == 23)
        #expect(message.edns?.dnssecOK == true)
        #expect(message.edns?.udpPayloadSize == 1232)
    }

    @Test("an upstream reply counts only with the id sent and the question asked, its name in any case (forwarders that lower-case it), its type and class exactly")
    func replyMatchesQuestion() throws {
        let asked = DNSQuestion(name: name("wWw.ExAmple.COM"), type: .a)
        var header = DNSHeader(id: 0x1234)
        header.isResponse = true
        func reply(_ text: String, id: UInt16 = 0x1234, code: UInt8 = 0, question: Bool = true) -> [UInt8] {
            var header = header
            header.id = id
            header.responseCodeLow = code
            return DNSMessage(header: header, questions: question ? [DNSQuestion(name: name(text), type: .a)] : []).encoded()
        }
        #expect(DNSServer.matchingReplyHeader(reply("wWw.ExAmple.COM"), id: 0x1234, question: asked)?.id == 0x1234)
        #expect(DNSServer.matchingReplyHeader(reply("www.example.com"), id: 0x1234, question: asked)?.id == 0x1234, "lower-cased by a forwarder")
        #expect(DNSServer.matchingReplyHeader(reply("WWW.EXAMPLE.COM"), id: 0x1234, question: asked)?.id == 0x1234)
        #expect(DNSServer.matchingReplyHeader(reply("www.example.org"), id: 0x1234, question: asked) == nil, "another name")
        var aaaa = header
        aaaa.id = 0x1234
        let otherType = DNSMessage(header: aaaa, questions: [DNSQuestion(name: name("wWw.ExAmple.COM"), type: .aaaa)]).encoded()
        #expect(DNSServer.matchingReplyHeader(otherType, id: 0x1234, question: asked) == nil, "another type")
        #expect(DNSServer.matchingReplyHeader(reply("wWw.ExAmple.COM", id: 0x1235), id: 0x1234, question: asked) == nil)
        // An error without a question (FORMERR from a server that echoes nothing) still counts.
        #expect(DNSServer.matchingReplyHeader(reply("", code: 1, question: false), id: 0x1234, question: asked) != nil)
        #expect(DNSServer.matchingReplyHeader(reply("", question: false), id: 0x1234, question: asked) == nil)
        for code: UInt8 in [2, 4, 5] {
            #expect(DNSServer.matchingReplyHeader(reply("", code: code, question: false), id: 0x1234, question: asked) != nil)
        }
        // An NXDOMAIN (or YXDOMAIN, or any other answer) without the question would deny a
        // name to a forger who guessed only the id, past the 0x20 check.
        for code: UInt8 in [3, 6, 9] {
            #expect(DNSServer.matchingReplyHeader(reply("", code: code, question: false), id: 0x1234, question: asked) == nil, "rcode \(code)")
        }
    }
}
