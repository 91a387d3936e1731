import BerthCore
import Foundation
import Testing
@testable import BerthDNS

/// An upstream that echoes the question lower-cased (as some home routers and dnsmasq
/// set-ups do), on an in-process server (loopback only).
@Suite("berth-dns forwarding: an upstream that lower-cases the question", .serialized)
struct CaseFoldingUpstreamTests {
    let block = LoopbackBlock()

    /// Answers one query on `fd` with `name`'s A record, its question lower-cased; returns
    /// the question as it arrived.
    func answerLowerCased(_ fd: Int32, address: IPv4Address) throws -> DNSName {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { throw SandboxlessError("the upstream got no query") }
        let query = try DNSMessage(parsing: Array(buffer[..<count]))
        let asked = try #require(query.questions.first)
        var response = query.responseSkeleton(code: .noError, payloadSize: 1232)
        response.questions = [DNSQuestion(name: asked.name.lowercased(), type: asked.type, recordClass: asked.recordClass)]
        response.answers = [DNSRecord(name: asked.name.lowercased(), ttl: 30, data: .a(address))]
        let reply = response.encoded()
        _ = reply.withUnsafeBytes { raw in
            withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) } }
        }
        return asked.name
    }

    @Test("a mixed-case lookup through it is answered with its records, not SERVFAIL after a timeout")
    func mixedCaseAnswered() throws {
        let upstream = try Loopback.udp(block.address(9, 1), port: block.port, timeout: 2)
        defer { close(upstream) }
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreamTimeoutMilliseconds = 10_000
        let front = try block.zone("front", 1, upstreams: [DNSUpstream(address: block.ip(9, 1), port: block.port)])
        let server = try InProcessServer(table: DNSTable(networks: [front]), configuration: configuration)

        let client = try Loopback.udp(block.address(1, 10), timeout: 5)
        defer { close(client) }
        Loopback.send(client, query("FwD.ExAmple.COM", .a, id: 0x0707).encoded(), to: block.address(1, 1), block.port)
        let address = IPv4Address(198, 51, 100, 7)
        let asked = try answerLowerCased(upstream, address: address)
        #expect(asked.wire == name("FwD.ExAmple.COM").wire, "the query went upstream in the client's case")
        let reply = try DNSMessage(parsing: try #require(Loopback.receive(client), "no answer"))
        #expect(reply.header.id == 0x0707)
        #expect(reply.responseCode == .noError)
        #expect(reply.answers.map(\.data) == [.a(address)])
        // Relayed in the upstream's case: a 0x20 client still sees what the upstream sent.
        #expect(reply.questions.first?.name.wire == name("fwd.example.com").wire)
        #expect(server.stop().mismatchedReplies == 0)
    }
}
