import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// Queries that would go round in a loop, and a start-up with one address taken, on an
/// in-process server (loopback only).
@Suite("berth-dns loops and start-up: the host is not forwarded for, a busy address costs only its network", .serialized)
struct ForwardLoopTests {
    let block = LoopbackBlock()

    @Test("an upstream that is the resolver's own listen address written IPv4-mapped is skipped, not asked in a loop")
    func mappedUpstreamIsSelf() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        let mapped = try DNSUpstream(parsing: "[::ffff:\(block.address(1, 1))]:\(block.port)")
        #expect(mapped.address == block.ip(1, 1), "held as the IPv4 address it reaches")
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, upstreams: [mapped])]), configuration: configuration)
        let answer = try Loopback.ask("x.example", from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 2)
        #expect(answer?.header.responseCodeLow == UInt8(DNSResponseCode.serverFailure.rawValue), "no upstream left but itself: SERVFAIL at once")
        let statistics = server.stop()
        #expect(statistics.forwarded == 0)
        #expect(statistics.limitedForwards == 0, "the query went round until the forward slots ran out")
    }

    @Test("a query from the host (the gateway's own address) for a name Berth does not hold is refused, never forwarded; Berth's names are answered")
    func hostQueriesAreNotForwarded() throws {
        // The upstream records what reaches it: a host resolver that sent the name back
        // here would start the loop.
        let recorder = try Loopback.udp(block.address(9, 1), port: block.port, timeout: 0.3)
        defer { close(recorder) }
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let zone = try block.zone("front", 1, endpoints: [web], upstreams: [DNSUpstream(address: block.ip(9, 1), port: block.port)])
        let server = try InProcessServer(table: DNSTable(networks: [zone]), configuration: configuration)

        let fromHost = try Loopback.ask("nosuch.example", from: block.address(1, 1), to: block.address(1, 1), block.port, timeout: 2)
        #expect(fromHost?.header.responseCodeLow == UInt8(DNSResponseCode.refused.rawValue))
        #expect(Loopback.receive(recorder) == nil, "the host's query was forwarded")
        let named = try Loopback.ask("web", from: block.address(1, 1), to: block.address(1, 1), block.port, timeout: 2)
        #expect(named?.answers.isEmpty == false, "the host still gets Berth's own names")

        // A container's query is forwarded as before.
        let client = try Loopback.udp(block.address(1, 10), timeout: 0.2)
        defer { close(client) }
        Loopback.send(client, query("fwd.example", .a, id: 9).encoded(), to: block.address(1, 1), block.port)
        let upstreamGot = Loopback.receive(recorder).flatMap { try? DNSMessage(parsing: $0) }
        #expect(upstreamGot?.questions.first?.name == name("fwd.example"))
        let statistics = server.stop()
        #expect(statistics.refusedForwards == 1)
        #expect(statistics.forwarded == 1)
    }

    @Test("at start-up, a listen address another process holds is reported and retried; the other networks are served")
    func startWithOneAddressTaken() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let report = NSTemporaryDirectory() + "berth-dns-unbound-start-\(block.b)-\(block.port)"
        configuration.unboundReportPath = report
        defer { unlink(report) }
        var squatter: Int32? = try Loopback.udp(block.address(1, 1), port: block.port)
        defer { if let squatter { close(squatter) } }
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let cache = DNSEndpointNames(name: name("cache"), addresses: [block.ip(2, 2)])
        let table = DNSTable(networks: [try block.zone("front", 1, endpoints: [web]), try block.zone("back", 2, endpoints: [cache])])
        let server = try InProcessServer(table: table, configuration: configuration)
        let back = try Loopback.ask("cache", from: block.address(2, 10), to: block.address(2, 1), block.port, timeout: 2)
        #expect(back?.answers.isEmpty == false, "the free network is not served")
        #expect((try? String(contentsOfFile: report, encoding: .utf8)) == "\(block.address(1, 1)) front\n")
        if let fd = squatter { close(fd) }
        squatter = nil
        func answered() throws -> Bool {
            try Loopback.ask("web", from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 0.2).map { !$0.answers.isEmpty } ?? false
        }
        #expect(Poll.wait(seconds: 15) { (try? answered()) == true }, "the taken address was never bound once free")
        let statistics = server.stop()
        #expect(statistics.unboundAddresses == 0)
    }
}
