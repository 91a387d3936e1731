import BerthCore
import Foundation
import Testing
@testable import BerthDNS

/// The TCP connection limit under a greedy client, on an in-process server (loopback only).
@Suite("berth-dns TCP: one source cannot lock out the others", .serialized)
struct TCPFairnessTests {
    let block = LoopbackBlock()

    func start(maxTCP: Int) throws -> InProcessServer {
        // The only upstream never answers: a forwarded query keeps its connection busy.
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([DNSUpstream(address: block.ip(9, 1), port: block.port)])
        configuration.upstreamTimeoutMilliseconds = 10_000
        configuration.maxTCPConnections = maxTCP
        return try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: [web])]), configuration: configuration)
    }

    @Test("a source holding connections busy upstream cannot take every slot (RFC 7766 §6.2.2): another source is served")
    func perSourceCap() throws {
        let silent = try Loopback.udp(block.address(9, 1), port: block.port)
        defer { close(silent) }
        let server = try start(maxTCP: 8)
        let gateway = block.address(1, 1)
        // One container opens as many connections as the server allows in all, each with a
        // query waiting upstream.
        var greedy: [LoopbackStream] = []
        for index in 0..<8 {
            let stream = try LoopbackStream(from: block.address(1, 10), to: gateway, block.port)
            stream.sendQuery("slow\(index).example", id: UInt16(index + 1))
            greedy.append(stream)
        }
        usleep(300_000)
        // Another container on the same network still gets its answer.
        let other = try LoopbackStream(from: block.address(1, 20), to: gateway, block.port)
        let answer = other.ask("web", id: 99)
        #expect(answer?.id == 99 && answer?.answers == 1, "the other source was shut out")
        // The greedy source kept at most its share (32 / 8 = 4, at least 2: here 2).
        let open = greedy.filter { !$0.isClosedByPeer(within: 0.05) }.count
        #expect(open == 2)
        let statistics = server.stop()
        #expect(statistics.rejectedConnections >= 6)
    }

    @Test("at the global limit the connection evicted is one of the source holding the most, not the oldest of all")
    func evictsFromLargestHolder() throws {
        let server = try start(maxTCP: 4)
        let gateway = block.address(1, 1)
        // b connects first (the longest idle of all), then a twice and c once: the limit.
        let b = try LoopbackStream(from: block.address(1, 11), to: gateway, block.port)
        #expect(b.ask("web", id: 1)?.id == 1)
        let a1 = try LoopbackStream(from: block.address(1, 10), to: gateway, block.port)
        #expect(a1.ask("web", id: 2)?.id == 2)
        let a2 = try LoopbackStream(from: block.address(1, 10), to: gateway, block.port)
        #expect(a2.ask("web", id: 3)?.id == 3)
        let c = try LoopbackStream(from: block.address(1, 12), to: gateway, block.port)
        #expect(c.ask("web", id: 4)?.id == 4)
        // d makes room by closing a's idle connection (a holds two), and is served.
        let d = try LoopbackStream(from: block.address(1, 13), to: gateway, block.port)
        #expect(d.ask("web", id: 5)?.id == 5)
        #expect(a1.isClosedByPeer())
        #expect(b.ask("web", id: 6)?.id == 6, "b, the oldest idle connection, was closed instead of one of a's")
        #expect(c.ask("web", id: 7)?.id == 7)
        #expect(a2.ask("web", id: 8)?.id == 8)
        server.stop()
    }
}
