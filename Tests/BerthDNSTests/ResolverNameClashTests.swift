import BerthCore
import Testing
@testable import BerthDNS

/// Names compared in every form the resolver answers them as (`NAME`, `NAME.NETWORK`), and
/// names under another network's domain kept from answering there.
@Suite("DNS table: qualified-name clashes and other networks' domains")
struct ResolverNameClashTests {
    /// `sampleTable` with one more endpoint on front (10.89.0.9) holding `aliases`.
    func table(adding name: String = "x", aliases: [String]) throws -> DNSTable {
        var table = try sampleTable()
        table.networks[0].endpoints.append(DNSEndpointNames(name: BerthDNSTests.name(name), aliases: aliases.map { BerthDNSTests.name($0) },
                                                            addresses: [.v4(IPv4Address(10, 89, 0, 9))]))
        return table
    }

    @Test("an alias db.front on network front clashes with the endpoint named db: refused, or left out of a repaired table")
    func qualifiedAliasClash() throws {
        let clashing = try table(aliases: ["DB.front"])
        let error = try #require(throws: BerthError.self) { try clashing.validate() }
        #expect(error.code == .conflict)
        #expect(error.message == "alias DB.front of x at 10.89.0.9 is the name of another endpoint on network front (db at 10.89.0.3) (both answered as db.front)")
        var lines: [String] = []
        let kept = clashing.keepingValid { lines.append($0) }
        #expect(kept.networks[0].endpoints.map(\.name.text) == ["web", "db", "six"])
        #expect(lines == ["x at 10.89.0.9 left out of network front: its alias DB.front is the name of db at 10.89.0.3 (both answered as db.front)"])
        let resolver = try DNSResolver(table: kept)
        guard case .answer(let db) = resolver.resolve(query("db.front", .a), zone: 0) else {
            Issue.record("db.front not answered")
            return
        }
        #expect(db.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 3))])
    }

    @Test("a name web.front on network front clashes with the name web; with no such name it is fine (a podman container named so)")
    func qualifiedNameClash() throws {
        let error = try #require(throws: BerthError.self) { try table(adding: "web.front", aliases: []).validate() }
        #expect(error.message.contains("name web.front is already held by another endpoint on network front (web at 10.89.0.2) (both answered as web.front)"))
        let resolver = try DNSResolver(table: table(adding: "api.front", aliases: ["x"]))
        guard case .answer(let api) = resolver.resolve(query("api.front", .a), zone: 0) else {
            Issue.record("api.front not answered")
            return
        }
        #expect(api.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 9))])
    }

    @Test("an alias cache.back on network front never answers under back's apex: back's cache for a container on both, forwarded for one on front only")
    func otherNetworksDomain() throws {
        var table = try table(aliases: ["cache.back"])
        table.networks[0].members = [.v4(IPv4Address(10, 89, 0, 7)): "ns1", .v4(IPv4Address(10, 89, 0, 8)): "ns2"]
        table.networks[1].members = [.v4(IPv4Address(10, 90, 0, 7)): "ns1"]
        var lines: [String] = []
        #expect(table.keepingValid { lines.append($0) } == table, "kept, only not answered as it is")
        #expect(lines == ["cache.back of x at 10.89.0.9 on network front is not answered as it is, only as cache.back.front: it is under network back's domain"])
        let resolver = try DNSResolver(table: table)
        guard case .answer(let both) = resolver.resolve(query("cache.back", .a), zone: 0, source: .v4(IPv4Address(10, 89, 0, 7))) else {
            Issue.record("cache.back not answered for a container on back")
            return
        }
        #expect(both.answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 2))])
        #expect(resolver.resolve(query("cache.back", .a), zone: 0, source: .v4(IPv4Address(10, 89, 0, 8))) == .forward)
        guard case .answer(let qualified) = resolver.resolve(query("cache.back.front", .a), zone: 0) else {
            Issue.record("cache.back.front not answered")
            return
        }
        #expect(qualified.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 9))])
    }
}
