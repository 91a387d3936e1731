import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// IPv6-only networks (`ipv4: false`, issue 15) against the fake kernel: the bridge holds
/// the IPv6 gateway alone, the `ip berth` table gets no rule of the network, endpoints get
/// an IPv6 address and route and nothing of IPv4, and what cannot be is refused with
/// nothing made.
@Suite("IPv6-only network policy (fake kernel)")
struct IPv6OnlyPolicyTests {
    private func ipv6Only(_ host: FakeHost, _ name: String = "six", subnet: String = "fd00:6::/64") throws -> NetworkRecord {
        try host.manager.createNetwork(NetworkOptions(name: name, bridge: try InterfaceName("br\(name)"), ipv6: true,
                                                      ipv6Subnet: try CIDR(parsing: subnet), ipv4: false))
    }

    private func attach(_ host: FakeHost, _ namespace: String, id: String, address: String? = nil,
                        ports: [String] = []) throws(BerthError) -> EndpointRecord {
        if host.kernel.state(named: namespace) == nil { host.kernel.addNamespace(namespace) }
        return try host.manager.attach(AttachOptions(network: "six", namespace: .name(namespace), id: id,
                                                     address: try address.map { text throws(BerthError) in try IPv4Address(parsing: text) },
                                                     ports: try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }))
    }

    /// `table ip berth` as the fake renders it; the table must be there (Berth keeps it for
    /// its guards and maps whatever the networks' families), or an absent table would pass
    /// every check of what it does not hold.
    private func ipv4Table(_ host: FakeHost, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let ruleset = host.nftables.ruleset
        let start = try #require(ruleset.range(of: "table ip berth {"), "no table ip berth in:\n\(ruleset)", sourceLocation: sourceLocation)
        let rest = ruleset[start.lowerBound...]
        return rest.range(of: "\n}").map { String(rest[..<$0.upperBound]) } ?? String(rest)
    }

    /// The lines of `table ip berth` that name `bridge`.
    private func ipv4Rules(_ host: FakeHost, naming bridge: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try ipv4Table(host, sourceLocation: sourceLocation).split(separator: "\n").filter { $0.contains("\"\(bridge)\"") }.map(String.init)
    }

    @Test("the network: no IPv4 subnet or gateway, the bridge holds only its IPv6 gateway, no IPv4 sysctls beyond arp_notify, ip6 rules only")
    func network() throws {
        let host = try FakeHost()
        let network = try ipv6Only(host)
        #expect(network.subnet == nil && network.gateway == nil && network.isIPv6Only && !network.isDualStack && network.hasIPv6)
        #expect(network.ipv6Subnet?.description == "fd00:6::/64" && network.ipv6Gateway?.description == "fd00:6::1")
        #expect(try host.manager.network(named: "six") == network)
        // DNS is on (not the default network): containers ask the resolver on the IPv6 gateway.
        #expect(network.dns && network.nameserver?.description == "fd00:6::1")
        #expect(host.kernel.addresses().filter { $0.contains("brsix") } == ["fd00:6::1/64 dev brsix nodad"])
        #expect(host.kernel.sysctlWrites == [
            "host: net/ipv6/conf/brsix/accept_ra=0", "host: net/ipv6/conf/brsix/accept_dad=0", "host: net/ipv4/conf/brsix/arp_notify=1",
            "host: net/ipv6/conf/all/forwarding=1",
        ])
        #expect(try ipv4Rules(host, naming: "brsix").isEmpty)
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("ip6 daddr fd00:6::/64 iifname != \"brsix\" drop comment \"berth-network six @f4ce0001\""))
        #expect(ruleset.contains("ip6 saddr fd00:6::/64 oifname != \"brsix\" masquerade"))
        // A second network beside it takes any IPv4 subnet, the first one included.
        let plain = try host.network()
        #expect(plain.subnet?.description == "10.88.0.0/24")
    }

    @Test("the bridge deleted and the ip6 table flushed: check names them, reconcile makes them again with the IPv6 gateway alone")
    func reconcile() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        let endpoint = try attach(host, "ctr1", id: "e1", ports: ["8080:80"])
        let before = host.nftables.ruleset
        try host.handle.netlink.deleteLink(.index(try #require(host.kernel.link("brsix")).index))
        var flush = Transaction()
        flush.destroy(.table(Table(.ip6, "berth")))
        try host.nftables.apply(flush)
        let problems = try host.manager.check().map(\.description)
        #expect(problems.contains("network six: bridge brsix: missing"), "\(problems)")
        #expect(problems.contains { $0.contains("nftables table ip6 berth") }, "\(problems)")
        _ = try host.manager.reconcile()
        #expect(host.kernel.addresses().filter { $0.contains("brsix") } == ["fd00:6::1/64 dev brsix nodad"])
        #expect(host.nftables.ruleset == before)
        // The endpoint's veth is on the new bridge again, its element back: nothing left to do.
        #expect(try host.manager.check().isEmpty)
        #expect(endpoint.ports.map(\.dockerDescription) == ["[::]:8080->80/tcp"])
    }

    @Test("removal takes the bridge and the ip6 rules; check finds nothing wrong before")
    func remove() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        #expect(try host.manager.check().isEmpty)
        try host.manager.removeNetwork(named: "six")
        #expect(host.kernel.link("brsix") == nil)
        #expect(!host.nftables.ruleset.contains("fd00:6::"))
    }

    @Test("gc after a create that crashed past its rules (the state forgot the network): the bridge and its ip6 rules go, though the ip table has none")
    func gcForgotten() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        try host.manager.store.write { tx throws(BerthError) in _ = try tx.db().execute("DELETE FROM networks WHERE name = 'six'") }
        let report = try host.manager.gc()
        #expect(report.links == ["brsix"])
        #expect(report.firewallObjects.contains { $0.hasPrefix("IPv6 rule in chain guard of network six") }, "\(report.firewallObjects)")
        #expect(!host.nftables.ruleset.contains("fd00:6::"))
        #expect(try host.manager.gc().isEmpty)
    }

    @Test("refused: IPv4 off without IPv6, an IPv4 subnet or gateway, an MTU under 1280 (IPv6-only or dual stack) — each naming the value, nothing made", arguments: [
        (NetworkOptions(name: "six", ipv4: false), "would have neither IPv4 nor IPv6"),
        (NetworkOptions(name: "six", subnet: CIDR("10.6.0.0/24"), ipv6: true, ipv4: false), "IPv4 subnet 10.6.0.0/24 cannot be given"),
        (NetworkOptions(name: "six", gateway: IPv4Address("10.6.0.1"), ipv6: true, ipv4: false), "IPv4 gateway 10.6.0.1 cannot be given"),
        (NetworkOptions(name: "six", mtu: 1000, ipv6: true, ipv4: false), "MTU 1000 is under IPv6's minimum of 1280"),
        // Dual stack too: the kernel would refuse the IPv6 gateway on the bridge with a bare EINVAL.
        (NetworkOptions(name: "six", mtu: 1000, ipv6: true), "has IPv6: MTU 1000 is under IPv6's minimum of 1280"),
    ])
    func refused(_ options: NetworkOptions, _ message: String) throws {
        let host = try FakeHost()
        let error = try #require(throws: BerthError.self) { try host.manager.createNetwork(options) }
        #expect(error.code == .invalidArgument && error.message.contains(message), "\(error)")
        #expect(error.object == .network("six"))
        #expect(host.kernel.links().allSatisfy { $0.kind != "bridge" })
        #expect(try host.manager.networks().isEmpty)
        #expect(host.nftables.ruleset.isEmpty)
    }

    @Test("an endpoint: the lowest free IPv6 address with nodad and the IPv6 default route, no IPv4 address or route, accept_ra=0, a MAC from the IPv6 address")
    func endpoint() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        let endpoint = try attach(host, "ctr1", id: "e1")
        #expect(endpoint.address == nil && endpoint.ipv6Address?.description == "fd00:6::2")
        #expect(endpoint.mac.description == "02:42:00:00:00:02")
        let ctr = try host.namespace("ctr1")
        #expect(host.kernel.addresses(in: ctr).filter { $0.contains("eth0") } == ["fd00:6::2/64 dev eth0 nodad"])
        let routes = host.kernel.routes(in: ctr)
        #expect(routes.contains { $0.hasPrefix("default via fd00:6::1 dev eth0") }, "\(routes)")
        #expect(!routes.contains { $0.contains(".") }, "\(routes)")
        #expect(host.kernel.sysctls(in: ctr).contains("net/ipv6/conf/eth0/accept_ra=0"))
        #expect(!host.kernel.sysctls(in: ctr).contains("net/ipv6/conf/eth0/disable_ipv6=1"))
        // check sees the container as it should be; detach frees the lease.
        #expect(try host.manager.check().isEmpty)
        try host.manager.detach(id: "e1")
        #expect(try attach(host, "ctr2", id: "e2").ipv6Address?.description == "fd00:6::2")
    }

    @Test("-p 8080:80 publishes [::]:8080 alone, as an element of the ip6 map; an IPv4 host address is refused naming the network, nothing made")
    func publishing() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        let endpoint = try attach(host, "ctr1", id: "e1", ports: ["8080:80", "5353:53/udp"])
        #expect(endpoint.ports.map(\.dockerDescription) == ["[::]:8080->80/tcp", "[::]:5353->53/udp"])
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("tcp . 8080 comment \"berth-endpoint e1 @f4ce0001\" : fd00:6::2 . 80"), "\(ruleset)")
        let table = try ipv4Table(host)
        #expect(table.contains("map publish_any") && !table.contains("8080"), "\(table)")
        try host.manager.detach(id: "e1")
        #expect(!host.nftables.ruleset.contains("8080"))
        for spec in ["127.0.0.1:8080:80", "0.0.0.0:8081:80"] {
            let error = try #require(throws: BerthError.self) { try attach(host, "ctr2", id: "e2", ports: [spec]) }
            #expect(error.code == .invalidArgument && error.object == .network("six") && error.message.contains("which is IPv6-only"), "\(error)")
        }
        #expect(host.kernel.link("eth0", in: try host.namespace("ctr2")) == nil)
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("an IPv4 host address refused on an IPv6-only network suggests the same protocol: 127.0.0.1:5353:53/udp suggests 5353:53/udp")
    func refusalHintKeepsProtocol() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        let error = try #require(throws: BerthError.self) { try attach(host, "ctr1", id: "e1", ports: ["127.0.0.1:5353:53/udp"]) }
        #expect(error.hint?.hasSuffix("as in 5353:53/udp") == true, "\(error)")
    }

    @Test("an IPv4 address asked for is refused naming the network, nothing made")
    func requestedIPv4() throws {
        let host = try FakeHost()
        _ = try ipv6Only(host)
        let error = try #require(throws: BerthError.self) { try attach(host, "ctr1", id: "e1", address: "10.6.0.5") }
        #expect(error.code == .invalidArgument && error.object == .network("six"))
        #expect(error.message == "network \"six\" is IPv6-only: IPv4 address 10.6.0.5 cannot be given")
        #expect(host.kernel.link("eth0", in: try host.namespace("ctr1")) == nil)
        #expect(try host.manager.endpoints().isEmpty)
    }
}
