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
}
