import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// `exitWhenEmpty` asks its source before it exits (on an in-process server, loopback only).
@Suite("berth-dns exit when empty: the source confirms it", .serialized)
struct ExitDecisionTests {
    let block = LoopbackBlock()

    @Test("a table that is no longer empty when the exit is decided (an attach in between) is loaded and served: no exit")
    func exitCalledOff() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let table = DNSTable(networks: [try block.zone("front", 1, endpoints: [web])])
        let server = try InProcessServer(table: table, configuration: configuration)
        // Serving the first table before it changes: a change the server's start-up load
        // read already is no change it is poked about (under load the start can be late).
        #expect(Poll.wait(seconds: 10) { (try? Loopback.ask("web", from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 1)) != nil },
                "the server never served its first table")
        // The last container leaves; before the resolver decides to exit, another attaches
        // (and finds this resolver recorded and running).
        let source = server.source
        source.onNextExit {
            source.set(table)
            return false
        }
        source.set(DNSTable())
        source.poke()
        #expect(Poll.wait(seconds: 10) { source.exitsAsked >= 1 }, "the server never asked before exiting")
        let answer = try Loopback.ask("web", from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 2)
        #expect(answer?.answers.map(\.data) == [.a(IPv4Address(127, block.b, 1, 2))], "the server exited or did not reload")
        server.stop()
        #expect(source.exitsAsked == 2, "asked again at the real end")
    }
}
