import BerthCore
import Foundation
import Testing
@testable import BerthDNS

/// Reloads that fail, on an in-process server (loopback only).
@Suite("berth-dns reload: a failure is retried, upstreams are kept", .serialized)
struct ReloadRecoveryTests {
    let block = LoopbackBlock()

    /// Asks `name` every 50 ms until it has an answer or `seconds` have passed.
    func waitForAnswer(_ text: String, seconds: Double) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let answer = try Loopback.ask(text, from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 0.2),
               !answer.answers.isEmpty { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("a reload that fails is retried without another signal, so a new name resolves soon after")
    func retryAfterFailure() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: [web])]), configuration: configuration)
        #expect(try waitForAnswer("web", seconds: 1))
        // The next load fails once (a busy database, a half-written file); the one after
        // that would give the new table, but nothing signals again.
        let db = DNSEndpointNames(name: name("db"), addresses: [block.ip(1, 3)])
        server.source.set(DNSTable(networks: [try block.zone("front", 1, endpoints: [db])]), failing: 1)
        server.source.poke()
        #expect(try waitForAnswer("db", seconds: 3), "the failed reload was never retried")
        let statistics = server.stop()
        #expect(statistics.failedReloads == 1)
        #expect(statistics.reloads >= 1)
    }
}
