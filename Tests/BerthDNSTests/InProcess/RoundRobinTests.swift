import BerthCore
import Foundation
import Testing
@testable import BerthDNS

/// A shared alias through the server: the rotation lives from query to query (on an
/// in-process server, loopback only).
@Suite("berth-dns: a shared alias answers each address first in turn", .serialized)
struct RoundRobinTests {
    let block = LoopbackBlock()

    @Test("nine queries for an alias three endpoints share: each address comes first three times, every answer holds all three")
    func sharedAliasRotates() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let endpoints = (2...4).map { (host: UInt8) in
            DNSEndpointNames(name: name("api\(host)"), aliases: [name("api")], addresses: [block.ip(1, host)])
        }
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: endpoints)]), configuration: configuration)
        var firsts: [String: Int] = [:]
        for _ in 0..<9 {
            let reply = try #require(try Loopback.ask("api", from: block.address(1, 10), to: block.address(1, 1), block.port))
            #expect(Set(reply.answers.map(\.data)) == Set((2...4).map { DNSRecordData.a(IPv4Address(127, block.b, 1, $0)) }))
            if let first = reply.answers.first { firsts["\(first.data)", default: 0] += 1 }
        }
        #expect(firsts.count == 3 && firsts.values.allSatisfy { $0 == 3 }, "\(firsts)")
        server.stop()
    }
}
