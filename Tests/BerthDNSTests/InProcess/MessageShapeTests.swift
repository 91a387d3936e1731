import BerthCore
import Foundation
import Testing
@testable import BerthDNS

/// What the server sends back for queries of the wrong shape, on an in-process server.
@Suite("berth-dns: queries with several questions", .serialized)
struct MessageShapeTests {
    let block = LoopbackBlock()

    @Test("a query with several questions gets FORMERR with no question, nothing echoed")
    func severalQuestions() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: [web])]), configuration: configuration)
        let client = try Loopback.udp(block.address(1, 10), timeout: 1)
        defer { close(client) }
        // 200 well-formed questions.
        var bytes = header(id: 0x77, qd: 200)
        for index in 0..<200 { bytes += labels("n\(index)", "example") + hex("0001 0001") }
        Loopback.send(client, bytes, to: block.address(1, 1), block.port)
        let reply = try #require(Loopback.receive(client))
        let response = try #require(DNSHeader(reply))
        #expect(response.id == 0x77 && response.isResponse && response.responseCodeLow == 1)
        #expect(reply.count == 12, "FORMERR echoed \(response.questionCount) questions")
        // A NOTIFY with two questions: NOTIMP, no question either.
        var notify = header(id: 0x78, flags: 0x2000, qd: 2)
        notify += labels("web") + hex("0001 0001") + labels("db") + hex("0001 0001")
        Loopback.send(client, notify, to: block.address(1, 1), block.port)
        let notImplemented = try #require(Loopback.receive(client))
        #expect(notImplemented.count == 12 && DNSHeader(notImplemented)?.responseCodeLow != 0)
        server.stop()
    }
}
