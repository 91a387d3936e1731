import BerthCore
import BerthTestSupport
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
        // A TCP query is forwarded over TCP: the upstream's kernel completes the handshake
        // and takes the query, and nothing ever answers.
        let silent = try Loopback.tcpListener(block.address(9, 1), port: block.port)
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
        // The greedy source keeps at most its share (32 / 8 = 4, at least 2: here 2): the server
        // closes the other six as it gets to them (polled; a bound against hanging). A
        // closed stream stays closed, so each is looked at until it is.
        var closed = Set<Int>()
        let shed = Poll.wait(seconds: 10) {
            for (index, stream) in greedy.enumerated() where !closed.contains(index) && stream.isClosedByPeer(within: 0) {
                closed.insert(index)
            }
            return closed.count >= 6
        }
        #expect(shed, "the greedy source kept \(8 - closed.count) connections")
        // Another container on the same network still gets its answer.
        let other = try LoopbackStream(from: block.address(1, 20), to: gateway, block.port)
        let answer = other.ask("web", id: 99)
        #expect(answer?.id == 99 && answer?.answers == 1, "the other source was shut out")
        // And no more than six were closed.
        let open = greedy.indices.filter { !closed.contains($0) && !greedy[$0].isClosedByPeer(within: 0.05) }.count
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

    @Test("an idle connection with answers not yet written is evicted only when no idle connection has none")
    func evictionSparesPendingOutput() throws {
        // 40 endpoints share the alias "many": each answer is about 700 bytes.
        let endpoints = (0..<40).map { DNSEndpointNames(name: name("e\($0)"), aliases: [name("many")], addresses: [block.ip(1, UInt8(10 + $0))]) }
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        configuration.maxTCPConnections = 2
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: endpoints)]), configuration: configuration)
        let gateway = block.address(1, 1)
        // x asks 360 times and reads nothing: of its ~240 KB of answers (under the 256 KiB a
        // connection may have waiting) what the kernels do not hold waits in the resolver.
        // It is the connection idle longest.
        let x = try LoopbackStream(from: block.address(1, 100), to: gateway, block.port, timeout: 3, receiveBuffer: 2048, maxSegment: 536)
        var queries: [UInt8] = []
        for id in 1...360 { queries += DNSStreamFramer.frame(query("many", .a, id: UInt16(id)).encoded()) ?? [] }
        x.send(queries)
        usleep(300_000)
        let y = try LoopbackStream(from: block.address(1, 101), to: gateway, block.port)
        #expect(y.ask("web", id: 1)?.id == 1)
        // z needs a place: y (idle, nothing unwritten) goes, not x.
        let z = try LoopbackStream(from: block.address(1, 102), to: gateway, block.port)
        #expect(z.ask("e1", id: 2)?.answers == 1)
        var received = 0
        while let frame = x.readFrame(), DNSHeader(frame) != nil {
            received += 1
            if received == 360 { break }
        }
        #expect(received == 360, "x lost answers it had asked for")
        #expect(y.isClosedByPeer())
        server.stop()
    }
}
