import BerthCore
import BerthNamespace
import BerthNetwork
import Testing
@testable import BerthDNS

/// A container on several networks resolves the names of each, whichever gateway it asks.
@Suite("DNS resolver engine: a container on several networks")
struct ResolverMemberTests {
    /// front and back as in `sampleTable`; container "ns1" is on both (10.89.0.7, 10.90.0.7),
    /// 10.89.0.8 is on front only.
    func resolver() throws -> DNSResolver {
        var table = try sampleTable()
        table.networks[0].members = [.v4(IPv4Address(10, 89, 0, 7)): "ns1", .v4(IPv4Address(10, 89, 0, 8)): "ns2"]
        table.networks[1].members = [.v4(IPv4Address(10, 90, 0, 7)): "ns1", .v4(IPv4Address(10, 90, 0, 2)): "ns3"]
        return try DNSResolver(table: table)
    }

    @Test("asking one network's gateway answers the names of the asker's other networks; others are still forwarded")
    func otherNetworksOfTheAsker() throws {
        let resolver = try resolver()
        let member = IPAddress.v4(IPv4Address(10, 89, 0, 7))
        guard case .answer(let cache) = resolver.resolve(query("cache", .a), zone: 0, source: member) else {
            Issue.record("cache not answered for a container on back")
            return
        }
        #expect(cache.answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 2))])
        guard case .answer(let qualified) = resolver.resolve(query("cache.back", .aaaa), zone: 0, source: member) else {
            Issue.record("cache.back not answered for a container on back")
            return
        }
        #expect(qualified.answers.isEmpty && qualified.authorities.first?.name.description == "back.")
        // Its own network's names come first, and a name of neither is forwarded.
        guard case .answer(let web) = resolver.resolve(query("web", .a), zone: 0, source: member) else {
            Issue.record("web not answered")
            return
        }
        #expect(web.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))])
        #expect(resolver.resolve(query("example.com", .a), zone: 0, source: member) == .forward)
        // Isolation: a container on front only, or an unknown source, gets back's names forwarded.
        #expect(resolver.resolve(query("cache", .a), zone: 0, source: .v4(IPv4Address(10, 89, 0, 8))) == .forward)
        #expect(resolver.resolve(query("cache", .a), zone: 0, source: .v4(IPv4Address(10, 89, 0, 9))) == .forward)
        #expect(resolver.resolve(query("cache", .a), zone: 0) == .forward)
        // A container on back only does not get front's names.
        #expect(resolver.resolve(query("web", .a), zone: 1, source: .v4(IPv4Address(10, 90, 0, 2))) == .forward)
    }

    @Test("PTR on one network's gateway names the asker's other networks' containers; others get NXDOMAIN, never a leak")
    func reverseOfOtherNetworks() throws {
        let resolver = try resolver()
        let member = IPAddress.v4(IPv4Address(10, 89, 0, 7))
        guard case .answer(let cache) = resolver.resolve(query("2.0.90.10.in-addr.arpa", .ptr), zone: 0, source: member) else {
            Issue.record("the PTR of back's cache not answered")
            return
        }
        #expect(cache.responseCode == .noError && cache.answers.map(\.data) == [.ptr(name("cache.back"))])
        // A container on front only: back's addresses are Berth's, so NXDOMAIN (not forwarded).
        guard case .answer(let other) = resolver.resolve(query("2.0.90.10.in-addr.arpa", .ptr), zone: 0, source: .v4(IPv4Address(10, 89, 0, 8))) else {
            Issue.record("the PTR of a served subnet was forwarded")
            return
        }
        #expect(other.responseCode == .nameError && other.answers.isEmpty)
        // The own network's names come first: front's web.
        guard case .answer(let web) = resolver.resolve(query("2.0.89.10.in-addr.arpa", .ptr), zone: 0, source: member) else {
            Issue.record("web's PTR not answered")
            return
        }
        #expect(web.answers.map(\.data) == [.ptr(name("web.front"))])
    }

    @Test("a reverse block above another network's container of the asker is NODATA, not NXDOMAIN above a name that exists (RFC 8020)")
    func reverseBlockOfOtherNetworks() throws {
        // back is a /16 here, so 3.90.10.in-addr.arpa is a block inside its reverse zone
        // (90.10.in-addr.arpa) with cache at 10.90.3.5 below it.
        var table = try sampleTable()
        table.networks[1] = DNSNetworkZone(
            name: "back", listenAddresses: [.v4(IPv4Address(10, 90, 0, 1))], subnets: [try CIDR(parsing: "10.90.0.0/16")],
            endpoints: [DNSEndpointNames(name: name("cache"), addresses: [.v4(IPv4Address(10, 90, 3, 5))])])
        table.networks[0].members = [.v4(IPv4Address(10, 89, 0, 7)): "ns1"]
        table.networks[1].members = [.v4(IPv4Address(10, 90, 0, 7)): "ns1"]
        let resolver = try DNSResolver(table: table)
        let member = IPAddress.v4(IPv4Address(10, 89, 0, 7))
        guard case .answer(let ptr) = resolver.resolve(query("5.3.90.10.in-addr.arpa", .ptr), zone: 0, source: member),
              case .answer(let block) = resolver.resolve(query("3.90.10.in-addr.arpa", .ptr), zone: 0, source: member) else {
            Issue.record("a reverse name of a served subnet was forwarded")
            return
        }
        #expect(ptr.answers.map(\.data) == [.ptr(name("cache.back"))])
        #expect(block.responseCode == .noError && block.answers.isEmpty, "NXDOMAIN above cache's PTR, asked on front's gateway")
        // Asked by a container on front only, cache is not its to see: the block does not exist.
        guard case .answer(let outsider) = resolver.resolve(query("3.90.10.in-addr.arpa", .ptr), zone: 0, source: .v4(IPv4Address(10, 89, 0, 8))) else {
            Issue.record("forwarded")
            return
        }
        #expect(outsider.responseCode == .nameError)
    }

    @Test("the state's table marks every endpoint, named or not, by its network namespace")
    func stateMembers() throws {
        func network(_ name: String, _ third: UInt8) throws -> NetworkRecord {
            NetworkRecord(name: name, id: "0123456789a\(third % 10)", bridge: try InterfaceName("br-\(name)"),
                          subnet: try CIDR(parsing: "10.\(third).0.0/24"), gateway: IPv4Address(10, third, 0, 1), mtu: 1500,
                          isInternal: false, created: 0, dns: true)
        }
        func endpoint(_ id: String, _ network: String, _ third: UInt8, _ last: UInt8, inode: UInt64, name: String?) throws -> EndpointRecord {
            EndpointRecord(id: id, network: network, namespacePath: "/run/netns/x", namespaceIdentity: NamespaceIdentity(device: 1, inode: inode),
                           interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb" + id),
                           address: IPv4Address(10, third, 0, last), mac: MACAddress(derivedFrom: IPv4Address(10, third, 0, last)), created: 0,
                           name: name)
        }
        let table = try StateTableSource.table(networks: [try network("front", 89), try network("back", 90)], endpoints: [
            // The asker: unnamed on front, named on back.
            try endpoint("e1", "front", 89, 7, inode: 100, name: nil),
            try endpoint("e2", "back", 90, 7, inode: 100, name: "asker"),
            try endpoint("e3", "back", 90, 2, inode: 200, name: "cache"),
        ])
        #expect(table.networks[0].endpoints.isEmpty, "an unnamed endpoint gets no name")
        let resolver = try DNSResolver(table: table)
        guard case .answer(let cache) = resolver.resolve(query("cache", .a), zone: 0, source: .v4(IPv4Address(10, 89, 0, 7))) else {
            Issue.record("cache not answered on front for a container on back")
            return
        }
        #expect(cache.answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 2))])
    }
}
