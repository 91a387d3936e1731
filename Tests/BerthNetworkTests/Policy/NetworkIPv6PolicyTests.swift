import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// Dual-stack networks (issue 15) against the fake kernel: the IPv6 subnet chosen or
/// checked, the bridge's IPv6 gateway, forwarding, the `ip6 berth` rules, what is refused
/// (with nothing made), and removal and rollback of both families.
@Suite("network IPv6 policy (fake kernel)")
struct NetworkIPv6PolicyTests {
    /// A host with an IPv6 LAN (fd00:121::1/64 on lan0) and a route fd00:50::/48 via
    /// fd00:121::fe, beside IPv4 ones: what the refusals clash with.
    private func lanHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lan0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "lan0")
        try host.kernel.addAddress("fd00:121::1/64", to: "lan0")
        try host.kernel.addRoute("fd00:50::/48", via: "fd00:121::fe")
        return host
    }

    private func dualStack(_ host: FakeHost, _ name: String = "web", subnet: String = "10.88.0.0/24", ipv6Subnet: String? = nil,
                           ipv6Gateway: String? = nil, isInternal: Bool = false) throws -> NetworkRecord {
        try host.manager.createNetwork(NetworkOptions(
            name: name, subnet: try CIDR(parsing: subnet), bridge: try InterfaceName("br\(name)"), isInternal: isInternal, ipv6: true,
            ipv6Subnet: try ipv6Subnet.map { try CIDR(parsing: $0) }, ipv6Gateway: try ipv6Gateway.map { try IPv6Address(parsing: $0) }))
    }

    /// The `ip6 berth` table as the fake renders it (nil when absent).
    private func table6(_ host: FakeHost) -> String? {
        let ruleset = host.nftables.ruleset
        guard let start = ruleset.range(of: "table ip6 berth {") else { return nil }
        let rest = ruleset[start.lowerBound...]
        guard let end = rest.range(of: "\n}") else { return String(rest) }
        return String(rest[..<end.upperBound])
    }

    @Test("--ipv6 alone: a /64 of the host's unique local prefix chosen by name, gateway ::1 with nodad, forwarding on, the ip6 rules")
    func automaticSubnet() throws {
        let host = try FakeHost()
        let network = try dualStack(host)
        let expected = FakeHost.uniqueLocalPrefix.subnet(SubnetPool.subnetID(forNetwork: "web"))
        #expect(network.ipv6Subnet == expected && network.isDualStack)
        #expect(network.ipv6Subnet?.description == "fd12:3456:789a:b348::/64")
        #expect(network.ipv6Gateway?.description == "fd12:3456:789a:b348::1")
        #expect(network.subnet?.description == "10.88.0.0/24" && network.gateway?.description == "10.88.0.1")
        #expect(host.kernel.addresses().filter { $0.hasSuffix("brweb") || $0.contains("brweb ") } == ["10.88.0.1/24 dev brweb", "fd12:3456:789a:b348::1/64 dev brweb nodad"])
        #expect(host.kernel.sysctlWrites == [
            "host: net/ipv6/conf/brweb/accept_ra=0", "host: net/ipv6/conf/brweb/accept_dad=0", "host: net/ipv4/conf/brweb/arp_notify=1",
            "host: net/ipv4/ip_forward=1", "host: net/ipv6/conf/all/forwarding=1", "host: net/ipv4/conf/brweb/route_localnet=1",
        ])
        #expect(try host.manager.network(named: "web") == network)
        #expect(table6(host) == """
            table ip6 berth {
            \tmap publish_addr {
            \t\ttype ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
            \t}

            \tmap publish_any {
            \t\ttype inet_proto . inet_service : ipv6_addr . inet_service
            \t}

            \tset publication_hairpin {
            \t\ttype ipv6_addr . ipv6_addr
            \t}

            \tchain guard {
            \t\ttype filter hook prerouting priority raw; policy accept;
            \t\tiifname != "lo" ip6 daddr fd12:3456:789a:b348::/64 iifname != "brweb" drop comment "berth-network web @f4ce0001"
            \t}

            \tchain prerouting {
            \t\ttype nat hook prerouting priority dstnat; policy accept;
            \t\tip6 daddr fe80::/10 return comment "berth: link-local is not published"
            \t\tfib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr
            \t\tfib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any
            \t}

            \tchain output {
            \t\ttype nat hook output priority -100; policy accept;
            \t\tip6 daddr ::1 return comment "berth: ::1 is not published"
            \t\tip6 daddr fe80::/10 return comment "berth: link-local is not published"
            \t\tfib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr
            \t\tfib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any
            \t}

            \tchain postrouting {
            \t\ttype nat hook postrouting priority srcnat; policy accept;
            \t\tct status dnat ip6 saddr . ip6 daddr @publication_hairpin masquerade comment "berth: publication hairpin"
            \t\tct status dnat ip6 saddr fd12:3456:789a:b348::/64 oifname "brweb" masquerade comment "berth-network web @f4ce0001"
            \t\tip6 saddr fd12:3456:789a:b348::/64 oifname != "brweb" masquerade comment "berth-network web @f4ce0001"
            \t}

            \tchain forward {
            \t\ttype filter hook forward priority filter; policy accept;
            \t}
            }
            """)
    }

    @Test("an IPv4-only network makes and reads nothing of IPv6: no ip6 table, no IPv6 forwarding")
    func ipv4OnlyTouchesNoIPv6() throws {
        let host = try FakeHost()
        let network = try host.network()
        #expect(network.ipv6Subnet == nil && network.ipv6Gateway == nil)
        #expect(table6(host) == nil)
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("forwarding") })
        #expect(host.kernel.addresses().filter { $0.contains("brweb") } == ["10.88.0.1/24 dev brweb"])
    }

    @Test("a given IPv6 subnet and gateway are taken as they are; an internal network gets no IPv6 masquerade, a global subnet the outbound one")
    func givenSubnet() throws {
        let host = try lanHost()
        let network = try dualStack(host, ipv6Subnet: "fd00:beef::/64", ipv6Gateway: "fd00:beef::fe", isInternal: true)
        #expect(network.ipv6Subnet?.description == "fd00:beef::/64" && network.ipv6Gateway?.description == "fd00:beef::fe")
        #expect(host.kernel.addresses().contains("fd00:beef::fe/64 dev brweb nodad"))
        let table = try #require(table6(host))
        #expect(table.contains("ip6 daddr fd00:beef::/64 iifname != \"brweb\" drop"))
        #expect(table.contains("iifname \"brweb\" oifname != \"brweb\" drop"))
        #expect(!table.contains("masquerade comment \"berth-network"))
        // A global subnet's outbound traffic is masqueraded as a unique local one's: its
        // guard would drop the unmasqueraded replies arriving on the uplink.
        _ = try dualStack(host, "pub", subnet: "10.89.0.0/24", ipv6Subnet: "2001:db8:1::/64")
        let global = try #require(table6(host))
        #expect(global.contains("\t\tct status dnat ip6 saddr 2001:db8:1::/64 oifname \"brpub\" masquerade"))
        #expect(global.contains("\t\tip6 saddr 2001:db8:1::/64 oifname != \"brpub\" masquerade"))
    }

    @Test("the same name gets its /64 back after the network is removed; another name another /64; taken /64s are skipped")
    func stableAndAvoiding() throws {
        let host = try FakeHost()
        let first = try dualStack(host)
        try host.manager.removeNetwork(named: "web")
        #expect(try dualStack(host).ipv6Subnet == first.ipv6Subnet)
        // A host route over the /64 the name "db" starts from pushes it to the next one.
        let start = FakeHost.uniqueLocalPrefix.subnet(SubnetPool.subnetID(forNetwork: "db"))
        host.kernel.addLink("lan0", kind: "dummy", up: true)
        try host.kernel.addAddress("fd00:121::1/64", to: "lan0")
        try host.kernel.addRoute(start.description, via: "fd00:121::fe")
        let db = try dualStack(host, "db", subnet: "10.89.0.0/24")
        #expect(db.ipv6Subnet == FakeHost.uniqueLocalPrefix.subnet(SubnetPool.subnetID(forNetwork: "db") &+ 1))
    }

    static let badOptions: [(String, NetworkOptions, BerthError.Code, [String], String?)] = [
        ("gateway outside the subnet", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:60::/64"), ipv6Gateway: IPv6Address("fd00:61::1")),
         .invalidArgument, ["IPv6 gateway fd00:61::1 is not inside subnet fd00:60::/64"], "ipv6Gateway"),
        ("gateway is the anycast address", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:60::/64"), ipv6Gateway: IPv6Address("fd00:60::")),
         .invalidArgument, ["fd00:60:: is the subnet-router anycast address"], "ipv6Gateway"),
        ("/128", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:60::/128")),
         .invalidArgument, ["IPv6 subnet fd00:60::/128 is too small"], "ipv6Subnet"),
        ("host bits", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:60::7/64")),
         .invalidArgument, ["IPv6 subnet fd00:60::7/64 has host bits set"], "ipv6Subnet"),
        ("IPv4 as IPv6 subnet", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("10.61.0.0/24")),
         .invalidArgument, ["IPv6 subnet 10.61.0.0/24 is not IPv6"], "ipv6Subnet"),
        ("link-local", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fe80:1::/64")),
         .invalidArgument, ["IPv6 subnet fe80:1::/64 overlaps fe80::/10 (link-local addresses)"], "ipv6Subnet"),
        ("overlaps a network", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:beef::/48")),
         .conflict, ["IPv6 subnet fd00:beef::/48 overlaps fd00:beef::/64 (network web)"], "ipv6Subnet"),
        ("overlaps a host route", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:50:0:1::/64")),
         .conflict, ["IPv6 subnet fd00:50:0:1::/64 overlaps fd00:50::/48", "route fd00:50::/48 dev lan0"], "ipv6Subnet"),
        ("the host's LAN", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6Subnet: CIDR("fd00:121::/64")),
         .conflict, ["IPv6 subnet fd00:121::/64 overlaps fd00:121::/64", "lan0"], "ipv6Subnet"),
        ("an existing bridge", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), bridge: try? InterfaceName("lan0"), usesExistingBridge: true, ipv6: true),
         .unsupported, ["an existing bridge cannot carry an IPv6 network yet"], "ipv6"),
    ]

    @Test("bad IPv6 networks are refused naming the value and the request field; kernel, firewall and state unchanged",
          arguments: badOptions.indices)
    func badNetwork(_ index: Int) throws {
        let (label, options, code, fragments, parameter) = Self.badOptions[index]
        let host = try lanHost()
        _ = try dualStack(host, ipv6Subnet: "fd00:beef::/64")
        let before = host.kernel.snapshot()
        let error = refusal { try host.manager.createNetwork(options) }
        expect(error, code, fragments, parameter: parameter)
        #expect(error?.operation == .createNetwork, "\(label)")
        #expect(host.kernel.snapshot() == before, "\(label) changed the kernel")
        #expect(try host.manager.networks().map(\.name) == ["web"], "\(label)")
    }

    @Test("IPv6 disabled on the host (default.disable_ipv6, or a kernel without IPv6): refused saying so, nothing made; IPv4 networks still work",
          arguments: [false, true])
    func ipv6Disabled(kernelWithout: Bool) throws {
        let host = try FakeHost()
        if kernelWithout {
            host.kernel.ipv6Available = false
        } else {
            #expect(try host.kernel.setSysctl("net/ipv6/conf/default/disable_ipv6", to: "1", in: nil))
        }
        let before = host.kernel.snapshot()
        let error = refusal { _ = try dualStack(host) }
        expect(error, .unsupported, ["IPv6 is disabled on this host", "network web cannot have an IPv6 subnet",
                                     kernelWithout ? "ipv6.disable=1" : "disable_ipv6 is 1"], parameter: "ipv6")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
        let v4 = try host.network()
        #expect(v4.ipv6Subnet == nil && host.kernel.link("brweb")?.isUp == true)
    }

    @Test("removing a dual-stack network takes its IPv6 rules and gateway with it; the ip6 table stays for the others")
    func removeTakesBothFamilies() throws {
        let host = try FakeHost()
        _ = try dualStack(host, "base", subnet: "10.39.0.0/24", ipv6Subnet: "fd00:39::/64")
        let before = host.kernel.snapshot()
        _ = try dualStack(host)
        #expect(table6(host)?.contains("berth-network web") == true)
        try host.manager.removeNetwork(named: "web")
        #expect(host.kernel.snapshot() == before)
        #expect(table6(host)?.contains("berth-network base") == true)
    }

    @Test("a dual-stack create failing after any step leaves no bridge, no rule of either family, no record",
          arguments: ["network.bridge", "network.address", "network.firewall"], [false, true])
    func createRollsBack(point: String, besideAnotherNetwork: Bool) throws {
        let host = try FakeHost()
        if besideAnotherNetwork { _ = try dualStack(host, "base", subnet: "10.39.0.0/24", ipv6Subnet: "fd00:39::/64") }
        let before = host.kernel.snapshot()
        host.arm(point)
        expect(refusal { _ = try dualStack(host) }, .internalError, ["fail point \(point) reached"])
        #expect(host.kernel.snapshot() == before)
        #expect((table6(host) == nil) == !besideAnotherNetwork)
        #expect(try host.manager.networks().count == (besideAnotherNetwork ? 1 : 0))
        host.disarm()
        _ = try dualStack(host)
        #expect(host.kernel.addresses().contains { $0.hasSuffix("::1/64 dev brweb nodad") && $0.hasPrefix("fd12:") })
    }

    @Test("a bridge set down and up has lost its IPv6 gateway; the next attach's bridge preparation puts it back")
    func gatewayRestoredAfterDown() throws {
        let host = try FakeHost()
        _ = try dualStack(host, ipv6Subnet: "fd00:beef::/64")
        let index = try #require(host.kernel.link("brweb")).index
        try host.handle.netlink.setDown(.index(index))
        #expect(!host.kernel.addresses().contains { $0.hasPrefix("fd00:beef::1/64") })
        try host.attach("ctr1")
        #expect(host.kernel.addresses().contains("fd00:beef::1/64 dev brweb nodad"))
    }

    @Test("gc removes this instance's IPv6 rules of a network the state does not know, and no one else's")
    func gcRemovesLeftoverIPv6Rules() throws {
        let host = try FakeHost()
        _ = try dualStack(host, ipv6Subnet: "fd00:beef::/64")
        let other = try FakeHost(kernel: host.kernel, instance: "0ddba11a")
        _ = try other.manager.createNetwork(NetworkOptions(name: "theirs", subnet: CIDR("10.77.0.0/24"), bridge: try InterfaceName("brtheirs"),
                                                           ipv6Subnet: CIDR("fd00:77::/64")))
        // The state forgets "web" (as a crash between the kernel and the commit would leave it).
        try host.manager.store.write { tx throws(BerthError) in
            _ = try tx.db().execute("DELETE FROM networks WHERE name = 'web'")
        }
        _ = try host.manager.gc()
        let table = try #require(table6(host))
        #expect(!table.contains("berth-network web"))
        #expect(table.contains("berth-network theirs @0ddba11a"))
    }

    @Test("attachBlockers for a dual-stack network to be created: IPv6 off on the host, or a requested IPv6 subnet taken, is named; a free one is none")
    func blockers() throws {
        let host = try lanHost()
        let free = NetworkOptions(name: "web", ipv6: true, ipv6Subnet: CIDR("fd00:9::/64"))
        #expect(try host.manager.attachBlockers(network: "web", creating: free).isEmpty)
        let taken = NetworkOptions(name: "web", ipv6Subnet: CIDR("fd00:121::/64"))
        #expect(try host.manager.attachBlockers(network: "web", creating: taken).map(\.message)
                == ["IPv6 subnet fd00:121::/64 overlaps fd00:121::/64 (route fd00:121::/64 dev lan0)"])
        // The same check createNetwork makes: an IPv4 CIDR is not an IPv6 subnet.
        let wrongFamily = NetworkOptions(name: "web", ipv6Subnet: CIDR("10.9.0.0/24"))
        #expect(try host.manager.attachBlockers(network: "web", creating: wrongFamily).map(\.message) == ["IPv6 subnet 10.9.0.0/24 is not IPv6"])
        host.kernel.presetSysctl("net/ipv6/conf/default/disable_ipv6", "1")
        let off = try host.manager.attachBlockers(network: "web", creating: free)
        #expect(off.map(\.message) == ["IPv6 is disabled on this host (net.ipv6.conf.default.disable_ipv6 is 1): network web cannot have an IPv6 subnet"])
        // An IPv4-only network is still fine.
        #expect(try host.manager.attachBlockers(network: "web", creating: NetworkOptions(name: "web")).isEmpty)
    }
}
