import BerthCore
import Testing
@testable import BerthDNS

/// Negative answers' SOA (RFC 2308 §3: the zone's, at its apex), partial reverse names, and
/// the question section of refusals.
@Suite("DNS resolver engine: zone apexes and partial reverse names")
struct ResolverNegativeTests {
    let resolver: DNSResolver
    let front = 0, back = 1

    init() throws {
        resolver = try DNSResolver(table: sampleTable())
    }

    func answer(_ query: DNSMessage, zone: Int = 0, resolver: DNSResolver? = nil) throws -> DNSMessage {
        guard case .answer(let message) = (resolver ?? self.resolver).resolve(query, zone: zone) else {
            throw SandboxlessError("expected an answer for \(query.questions)")
        }
        return message
    }

    /// The owner of the one SOA in the authority section, as text.
    func soaOwner(_ message: DNSMessage) -> String? {
        guard message.authorities.count == 1, message.authorities[0].type == .soa else { return nil }
        return message.authorities[0].name.description
    }

    @Test("NODATA for a name carries the SOA of the network's domain, or of the root for a single-label name")
    func forwardApex() throws {
        let single = try answer(query("web", .aaaa))
        #expect(single.responseCode == .noError && single.answers.isEmpty)
        #expect(soaOwner(single) == ".")
        let qualified = try answer(query("Web.Front", .mx))
        #expect(soaOwner(qualified) == "front.")
        // The record itself: golden SOA fields.
        let soa = try #require(qualified.authorities.first)
        #expect(soa.ttl == 0)
        #expect(soa.data == .soa(DNSSOA(primaryServer: name("berth-dns"), responsible: name("hostmaster.berth-dns"), serial: 1,
                                        refresh: 3600, retry: 600, expire: 86400, minimum: 0)))
    }

    @Test("the network's apex NETWORK. is answered here (its SOA, NODATA otherwise), never forwarded; another network's apex is forwarded")
    func networkApex() throws {
        let soa = try answer(query("Front", .soa))
        #expect(soa.responseCode == .noError && soa.header.isAuthoritative)
        #expect(soa.answers.map(\.type) == [.soa] && soa.answers.first?.name.description == "Front.")
        let a = try answer(query("front", .a))
        #expect(a.responseCode == .noError && a.answers.isEmpty && soaOwner(a) == "front.")
        #expect(try answer(query("front", .init(rawValue: 252))).responseCode == .notImplemented)
        // back's apex asked on front, by a container that is not on back: not front's business.
        #expect(resolver.resolve(query("back", .soa), zone: front) == .forward)
        #expect(resolver.resolve(query("back", .soa), zone: back) != .forward)
    }

    @Test("negative answers for reverse names carry the SOA of the subnet's reverse zone")
    func reverseApex() throws {
        let missing = try answer(query("99.0.89.10.in-addr.arpa", .ptr))
        #expect(missing.responseCode == .nameError)
        #expect(soaOwner(missing) == "0.89.10.in-addr.arpa.")
        let otherNetwork = try answer(query("2.0.90.10.in-addr.arpa", .ptr))
        #expect(otherNetwork.responseCode == .nameError)
        #expect(soaOwner(otherNetwork) == "0.90.10.in-addr.arpa.")
        let noData = try answer(query("2.0.89.10.in-addr.arpa", .txt))
        #expect(noData.responseCode == .noError && noData.answers.isEmpty)
        #expect(soaOwner(noData) == "0.89.10.in-addr.arpa.")
    }

    @Test("partial reverse names at, under or above a served subnet's reverse zone are answered here, never forwarded")
    func partialReverse() throws {
        // The apex of front's reverse zone: its SOA, and NODATA for other types.
        let apexSOA = try answer(query("0.89.10.in-addr.arpa", .soa))
        #expect(apexSOA.responseCode == .noError)
        #expect(apexSOA.answers.map(\.type) == [.soa])
        #expect(apexSOA.answers.first?.name.description == "0.89.10.in-addr.arpa.")
        let apexNS = try answer(query("0.89.10.in-addr.arpa", .ns))
        #expect(apexNS.responseCode == .noError && apexNS.answers.isEmpty)
        #expect(soaOwner(apexNS) == "0.89.10.in-addr.arpa.")
        // Parents of the zone: empty non-terminals on the way to it.
        for parent in ["89.10.in-addr.arpa", "10.in-addr.arpa"] {
            let response = try answer(query(parent, .soa))
            #expect(response.responseCode == .noError && response.answers.isEmpty, "\(parent)")
            #expect(soaOwner(response) == parent + ".", "\(parent)")
        }
        // Another network's subnet from front, too.
        #expect(try answer(query("0.90.10.in-addr.arpa", .ptr)).responseCode == .noError)
        // Names outside every served subnet, and the reverse trees themselves, are forwarded.
        #expect(resolver.resolve(query("0.91.10.in-addr.arpa", .ptr), zone: front) == .forward)
        #expect(resolver.resolve(query("1.10.in-addr.arpa", .ptr), zone: front) == .forward)
        #expect(resolver.resolve(query("in-addr.arpa", .soa), zone: front) == .forward)
        #expect(resolver.resolve(query("ip6.arpa", .soa), zone: front) == .forward)
        // A label that is not an octet, under the zone: no such name.
        let junk = try answer(query("x.0.89.10.in-addr.arpa", .ptr))
        #expect(junk.responseCode == .nameError && soaOwner(junk) == "0.89.10.in-addr.arpa.")
        #expect(try answer(query("x.7.0.89.10.in-addr.arpa", .ptr)).responseCode == .nameError)
    }

    @Test("IPv6: a partial name under the subnet's zone is NODATA above an endpoint, NXDOMAIN elsewhere")
    func partialReverseIPv6() throws {
        let zone = DNSNetworkZone(
            name: "six", listenAddresses: [.v4(IPv4Address(10, 93, 0, 1))],
            subnets: [try CIDR(parsing: "10.93.0.0/24"), try CIDR(parsing: "fd00:1::/64")],
            endpoints: [DNSEndpointNames(name: name("v6"), addresses: [.v6(try IPv6Address(parsing: "fd00:1::5"))])])
        let resolver = try DNSResolver(table: DNSTable(networks: [zone]))
        let apex = "0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa"
        let above = try answer(query("0.0.0.0." + apex, .ptr), resolver: resolver)
        #expect(above.responseCode == .noError && above.answers.isEmpty)
        #expect(soaOwner(above) == apex + ".")
        let empty = try answer(query("1.0.0.0." + apex, .ptr), resolver: resolver)
        #expect(empty.responseCode == .nameError)
        #expect(soaOwner(empty) == apex + ".")
        let full = try answer(query("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0." + apex, .ptr), resolver: resolver)
        #expect(full.answers.map(\.data) == [.ptr(name("v6.six"))])
        let missing = try answer(query("6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0." + apex, .ptr), resolver: resolver)
        #expect(soaOwner(missing) == apex + ".")
    }

    @Test("FORMERR for zero or several questions, and NOTIMP then, carry no question")
    func refusalsEchoNothing() throws {
        var two = query("web", .a)
        two.questions.append(DNSQuestion(name: name("db"), type: .a))
        let formErr = try answer(two)
        #expect(formErr.responseCode == .formatError && formErr.questions.isEmpty)
        var none = query("web", .a)
        none.questions = []
        #expect(try answer(none).questions.isEmpty)
        var notify = two
        notify.header.opcode = .notify
        let notImplemented = try answer(notify)
        #expect(notImplemented.responseCode == .notImplemented && notImplemented.questions.isEmpty)
        // With one question, NOTIMP echoes it as before.
        var one = query("web", .a)
        one.header.opcode = .notify
        #expect(try answer(one).questions.count == 1)
    }
}
