import BerthCore
@testable import BerthNetlink
import Testing

/// Large change sets go out in several `sendmsg`s, so the kernel's answers to one fit its
/// receive buffer; small ones (an attach) stay one.
@Suite("rtnetlink requests cut into sendmsgs")
struct RequestChunkTests {
    @Test("300 changes go as 128 + 128 + 44 messages, bytes and sequence numbers unchanged; 128 stay one")
    func chunks() throws {
        let transport = RecordingTransport()
        let netlink = RouteNetlink(transport: transport)
        var recorded = NetlinkRequest()
        try netlink.apply { changes throws(BerthError) in
            for index in 1...300 { try changes.setUp(.index(Int32(index))) }
            recorded = changes.request
        }
        #expect(transport.requests.map(\.entries.count) == [128, 128, 44])
        #expect(transport.requests.flatMap(\.bytes) == recorded.bytes)
        #expect(transport.requests.flatMap(\.entries).map(\.sequence) == Array(1...300))
        #expect(transport.requests[2].entries.first?.operation == "set link #257 up")

        try netlink.apply { changes throws(BerthError) in
            for index in 1...128 { try changes.setUp(.index(Int32(index))) }
        }
        #expect(transport.requests.count == 4 && transport.requests[3].entries.count == 128)
    }

    @Test("the answer budget counts 1 KiB per ack and 8 KiB per echo: an attach's request needs no bigger buffer")
    func answerBudget() throws {
        let transport = RecordingTransport()
        let netlink = RouteNetlink(transport: transport)
        try netlink.apply { changes throws(BerthError) in
            try changes.createVeth(named: InterfaceName("vb1"), peer: InterfaceName("eth0"), master: .index(3), up: true)
            try changes.setAlias(.name(InterfaceName("vb1")), to: "tag")
            try changes.setHairpin(.name(InterfaceName("vb1")), true)
        }
        let request = try #require(transport.requests.first)
        #expect(request.answerBudget == 3 * 1024 + 8192)
        #expect(request.answerBudget < NetlinkSocket.assumedReceiveBudget)
    }
}
