import BerthCore
import Testing
@testable import BerthDNS

/// Answers with several addresses (an alias shared by several endpoints) start one address
/// further at each query, as Docker's resolver spreads them (it shuffles).
@Suite("DNS resolver engine: shared names rotate")
struct ResolverRotationTests {
    /// Network front with `api` shared by three dual-stack endpoints.
    func resolver() throws -> DNSResolver {
        let endpoints = try (2...4).map { (last: UInt8) throws -> DNSEndpointNames in
            DNSEndpointNames(name: name("api\(last)"), aliases: [name("api")],
                             addresses: [.v4(IPv4Address(10, 89, 0, last)), .v6(try IPv6Address(parsing: "fd00::\(last)"))])
        }
        let front = DNSNetworkZone(name: "front", listenAddresses: [.v4(IPv4Address(10, 89, 0, 1))],
                                   subnets: [try CIDR(parsing: "10.89.0.0/24"), try CIDR(parsing: "fd00::/64")], endpoints: endpoints)
        return try DNSResolver(table: DNSTable(networks: [front]))
    }

    func answers(_ resolver: DNSResolver, _ text: String, _ type: DNSRecordType, _ rotation: inout DNSAnswerRotation) throws -> [DNSRecordData] {
        guard case .answer(let message) = resolver.resolve(query(text, type), zone: 0, rotation: &rotation) else {
            throw SandboxlessError("expected an answer for \(text)")
        }
        return message.answers.map(\.data)
    }

    @Test("successive A queries for a shared alias start at each address in turn, every answer holding all three")
    func eachAddressFirst() throws {
        let resolver = try resolver()
        var rotation = DNSAnswerRotation()
        let all: Set<DNSRecordData> = [.a(IPv4Address(10, 89, 0, 2)), .a(IPv4Address(10, 89, 0, 3)), .a(IPv4Address(10, 89, 0, 4))]
        var firsts: [DNSRecordData] = []
        for _ in 0..<6 {
            let answer = try answers(resolver, "api", .a, &rotation)
            #expect(Set(answer) == all && answer.count == 3)
            firsts += answer.prefix(1)
        }
        #expect(firsts == [2, 3, 4, 2, 3, 4].map { .a(IPv4Address(10, 89, 0, $0)) })
        // The order within an answer is the table's, rotated: no address is skipped.
        #expect(try answers(resolver, "API.front", .a, &rotation) == [2, 3, 4].map { .a(IPv4Address(10, 89, 0, $0)) })
    }

    @Test("A and AAAA rotate apart: a client asking both for each lookup still sees each IPv4 address first in turn")
    func typesApart() throws {
        let resolver = try resolver()
        var rotation = DNSAnswerRotation()
        var firstV4: [DNSRecordData] = []
        var firstV6: [DNSRecordData] = []
        for _ in 0..<3 {
            firstV4 += try answers(resolver, "api", .a, &rotation).prefix(1)
            firstV6 += try answers(resolver, "Api", .aaaa, &rotation).prefix(1)
        }
        #expect(firstV4 == [2, 3, 4].map { .a(IPv4Address(10, 89, 0, $0)) })
        let v6: [DNSRecordData] = try [2, 3, 4].map { .aaaa(try IPv6Address(parsing: "fd00::\($0)")) }
        #expect(firstV6 == v6)
    }

    @Test("a name with one address answers it every time; without a rotation the table's order is kept")
    func singleAndDefault() throws {
        let resolver = try resolver()
        var rotation = DNSAnswerRotation()
        for _ in 0..<3 {
            #expect(try answers(resolver, "api3", .a, &rotation) == [.a(IPv4Address(10, 89, 0, 3))])
        }
        for _ in 0..<3 {
            guard case .answer(let message) = resolver.resolve(query("api", .a), zone: 0) else { throw SandboxlessError("no answer") }
            #expect(message.answers.first?.data == .a(IPv4Address(10, 89, 0, 2)))
        }
    }

    @Test("each network rotates a name apart: one network's queries do not move another's answers")
    func networksApart() throws {
        var rotation = DNSAnswerRotation()
        let api = name("api")
        #expect(rotation.take(zone: 0, name: api, type: .a, count: 3) == 0)
        #expect(rotation.take(zone: 0, name: api, type: .a, count: 3) == 1)
        // Another network's first query for the same name starts at its first record.
        #expect(rotation.take(zone: 1, name: api, type: .a, count: 3) == 0)
        #expect(rotation.take(zone: 0, name: api, type: .a, count: 3) == 2)
    }
}
