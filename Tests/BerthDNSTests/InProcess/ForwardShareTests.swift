import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// Pending forwards shared between networks, on an in-process server (loopback only).
@Suite("berth-dns forwarding: each network has its share of pending forwards", .serialized)
struct ForwardShareTests {
    let block = LoopbackBlock()

    @Test("a network flooding slow names cannot use every pending forward: another network's query is still forwarded")
    func zoneShare() throws {
        // front's upstream never answers; back's records what it gets.
        let silent = try Loopback.udp(block.address(9, 1), port: block.port)
        defer { close(silent) }
        let recorder = try Loopback.udp(block.address(9, 2), port: block.port, timeout: 2)
        defer { close(recorder) }
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreamTimeoutMilliseconds = 10_000
        let front = try block.zone("front", 1, upstreams: [DNSUpstream(address: block.ip(9, 1), port: block.port)])
        let back = try block.zone("back", 2, upstreams: [DNSUpstream(address: block.ip(9, 2), port: block.port)])
        let server = try InProcessServer(table: DNSTable(networks: [front, back]), configuration: configuration)

        // Eight containers of front, each within its own limit (32), ask for 256 slow names:
        // the whole pool.
        let perSource = configuration.maxPendingForwardsPerSource
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for host in 0..<(configuration.maxPendingForwards / perSource) {
            let fd = try Loopback.udp(block.address(1, UInt8(10 + host)), timeout: 0.05)
            sockets.append(fd)
            for index in 0..<perSource {
                Loopback.send(fd, query("slow\(host)-\(index).example", .a, id: UInt16(index + 1)).encoded(), to: block.address(1, 1), block.port)
            }
            // Paced, so that the resolver's socket buffer never drops any.
            usleep(30_000)
        }
        // front got at most its share; the rest of its queries were refused at once. The
        // refusals are counted as they come (polled; a bound against hanging), then once more
        // after a pause for any beyond the share.
        var refused = 0
        func count() {
            for fd in sockets {
                while let reply = Loopback.receive(fd) {
                    if DNSHeader(reply)?.responseCodeLow == UInt8(DNSResponseCode.refused.rawValue) { refused += 1 }
                }
            }
        }
        let share = configuration.maxPendingForwards / 2
        _ = Poll.wait(seconds: 10) { count(); return refused >= share }
        usleep(200_000)
        count()
        #expect(refused == share, "front's share of 2 networks is half the pool")

        // back's container is forwarded as usual.
        let client = try Loopback.udp(block.address(2, 10), timeout: 0.2)
        defer { close(client) }
        Loopback.send(client, query("fwd.example", .a, id: 7).encoded(), to: block.address(2, 1), block.port)
        let upstreamGot = Loopback.receive(recorder).flatMap { try? DNSMessage(parsing: $0) }
        #expect(upstreamGot?.questions.first?.name == name("fwd.example"), "back's query never reached its upstream")
        if let early = Loopback.receive(client) {
            #expect(DNSHeader(early)?.responseCodeLow != UInt8(DNSResponseCode.serverFailure.rawValue), "back got SERVFAIL at once")
        }
        server.stop()
    }
}
