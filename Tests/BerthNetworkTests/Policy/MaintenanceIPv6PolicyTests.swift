import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// `check` and `reconcile` of dual-stack networks against the fake kernel: the bridge's
/// IPv6 gateway (which a down/up of the bridge drops) and the `ip6 berth` table are checked
/// and put back; a host with only IPv4 networks never reads the ip6 table.
@Suite("check and reconcile IPv6 policy (fake kernel)")
struct MaintenanceIPv6PolicyTests {
    private func dualStackHost() throws -> FakeHost {
        let host = try FakeHost()
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: CIDR("10.88.0.0/24"), bridge: try InterfaceName("brweb"),
                                                      ipv6Subnet: CIDR("fd00:beef::/64")))
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        return host
    }

    @Test("a clean dual-stack host checks clean; an IPv4-only one reads only Berth's ip table")
    func clean() throws {
        let host = try dualStackHost()
        #expect(try host.manager.check().isEmpty)
        let v4 = try FakeHost()
        try v4.network()
        v4.nftables.resetCounts()
        #expect(try v4.manager.check().isEmpty)
        #expect(v4.nftables.tableReads == 1)
    }

    @Test("a bridge set down and up lost its IPv6 gateway: check names it, reconcile puts it back with nodad")
    func gatewayLost() throws {
        let host = try dualStackHost()
        let index = try #require(host.kernel.link("brweb")).index
        try host.handle.netlink.setDown(.index(index))
        try host.handle.netlink.setUp(.index(index))
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == ["network web: address fd00:beef::1/64 on brweb: missing"])
        #expect(problems.allSatisfy { $0.repair == .reconcile })
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description) == ["network web: address fd00:beef::1/64 on brweb: missing"])
        #expect(host.kernel.addresses().contains("fd00:beef::1/64 dev brweb nodad"))
        #expect(try host.manager.check().isEmpty)
    }

    @Test("the ip6 table deleted: check names it, reconcile rebuilds it exactly; a missing IPv6 rule is put back")
    func tableLost() throws {
        let host = try dualStackHost()
        let before = host.nftables.ruleset
        var drop = Transaction()
        drop.delete(.table(IPv6FirewallLayout.table))
        try host.nftables.apply(drop)
        #expect(try host.manager.check().map(\.description) == ["nftables table ip6 berth: missing"])
        #expect(try host.manager.reconcile().restored.map(\.description) == ["nftables table ip6 berth: missing"])
        #expect(host.nftables.ruleset == before)
        #expect(try host.manager.check().isEmpty)

        let table = try #require(try host.nftables.list(table: IPv6FirewallLayout.table))
        var cut = Transaction()
        for rule in table.chains.flatMap(\.rules) where rule.chain == "guard" { cut.delete(.rule(rule)) }
        try host.nftables.apply(cut)
        let missing = try host.manager.check().map(\.description)
        #expect(missing == ["network web: rule 'iifname != \"lo\" ip6 daddr fd00:beef::/64 iifname != \"brweb\" drop comment \"berth-network web @f4ce0001\"' in chain guard: missing"])
        _ = try host.manager.reconcile()
        #expect(host.nftables.ruleset == before)
    }

    @Test("a global-subnet network made before global subnets were masqueraded: check names the outbound masquerade, reconcile adds it")
    func globalSubnetMasqueradeAdded() throws {
        let host = try FakeHost()
        try host.manager.createNetwork(NetworkOptions(name: "pub", subnet: CIDR("10.89.0.0/24"), bridge: try InterfaceName("brpub"),
                                                      ipv6Subnet: CIDR("2001:db8:1::/64")))
        // What an older Berth made: the outbound masquerade only for DNATed traffic.
        let table = try #require(try host.nftables.list(table: IPv6FirewallLayout.table))
        let outbound = try #require(table.chains.flatMap(\.rules).first {
            Renderer.rule($0).hasPrefix("ip6 saddr 2001:db8:1::/64 oifname != \"brpub\" masquerade")
        })
        var older = Transaction()
        older.delete(.rule(outbound))
        older.add(.rule(IPv6FirewallLayout.table.rule(in: IPv6FirewallLayout.postrouting.name,
                                                      [.ctStatusDnat, .saddr(CIDR("2001:db8:1::/64")!), .oifname("brpub", negated: true), .masquerade],
                                                      comment: "berth-network pub @f4ce0001")))
        try host.nftables.apply(older)
        // The new rule is missing, and the older one, which the layout no longer makes, is
        // stale (reconcile deletes this instance's rules of a network it no longer calls for).
        let problems = try host.manager.check().map(\.description)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains(
            "network pub: rule 'ip6 saddr 2001:db8:1::/64 oifname != \"brpub\" masquerade comment \"berth-network pub @f4ce0001\"' in chain postrouting: missing"))
        #expect(problems.contains { $0.contains("ct status dnat") && $0.hasSuffix("in chain postrouting: stale") }, "\(problems)")
        _ = try host.manager.reconcile()
        #expect(host.nftables.ruleset.contains("\t\tip6 saddr 2001:db8:1::/64 oifname != \"brpub\" masquerade comment \"berth-network pub @f4ce0001\""))
        #expect(!host.nftables.ruleset.contains("ct status dnat ip6 saddr 2001:db8:1::/64 oifname != \"brpub\" masquerade"), "the older rule is gone")
        #expect(try host.manager.check().isEmpty)
        try host.manager.removeNetwork(named: "pub")
        #expect(!host.nftables.ruleset.contains("2001:db8:1::"))
    }

    @Test("inside the container: a lost IPv6 address and a lost IPv6 default route are named by check and verifyEndpoint, repaired by a re-attach")
    func insideLost() throws {
        let host = try dualStackHost()
        let ctr1 = try host.namespace("ctr1")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr1))
        let inside = try host.handle.netlink(in: ctr1)
        try inside.deleteRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::1")))
        let noRoute = try host.manager.check()
        #expect(noRoute.map(\.description) == ["endpoint e1: IPv6 default route via fd00:beef::1: missing"])
        #expect(noRoute.allSatisfy { $0.repair == .reattach })
        try inside.deleteAddress(try CIDR(parsing: "fd00:beef::2/64"), from: .index(eth0.index))
        #expect(try host.manager.check().map(\.description) == [
            "endpoint e1: address fd00:beef::2/64 on eth0: missing", "endpoint e1: IPv6 default route via fd00:beef::1: missing",
        ])
        #expect(try host.manager.verifyEndpoint(id: "e1").map { "\($0.object): \($0.problem)" } == [
            "address fd00:beef::2/64 on eth0: missing", "IPv6 default route via fd00:beef::1: missing",
        ])
        // The IPv4 side is untouched. An IPv6 default route via another gateway stands in
        // for the network's (an endpoint an earlier Berth attached as a further network has
        // none of its own: check must not fail it after an upgrade), and so does the
        // network's own at another metric (behind a first network's).
        try inside.addAddress(try CIDR(parsing: "fd00:beef::2/64"), to: .index(eth0.index))
        try inside.addRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::fe")))
        #expect(try host.manager.check().isEmpty)
        try inside.deleteRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::fe")))
        #expect(try host.manager.check().map(\.description) == ["endpoint e1: IPv6 default route via fd00:beef::1: missing"])
        // A multipath default route with the network's gateway among its next hops (the
        // kernel dumps it as one route, its gateways in RTA_MULTIPATH) counts as well.
        try inside.apply { changes throws(BerthError) in
            try changes.addRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::1")), device: .index(eth0.index))
            try changes.addRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::fe")), device: .index(eth0.index), appendIfExists: true)
        }
        let multipath = try #require(try inside.routes(family: .ipv6).first { $0.isDefault })
        #expect(multipath.gateway == nil && multipath.gateways == [IPAddress("fd00:beef::1"), IPAddress("fd00:beef::fe")], "\(multipath)")
        #expect(try host.manager.check().isEmpty)
        try inside.addRoute(to: nil, via: .v6(try IPv6Address(parsing: "fd00:beef::1")), metric: 1025)
        #expect(try host.manager.check().isEmpty)
    }
}
