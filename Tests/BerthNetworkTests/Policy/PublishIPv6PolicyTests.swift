import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import BerthTestSupport
import Testing

/// Publishing on a dual-stack network against the fake kernel (issue 15): `-p 8080:80` as
/// two mappings (`0.0.0.0` and `[::]`), `-p [v6]:…` IPv6 only, keys owned per family, the
/// refusals (`[::1]`, link-local, an IPv6 address for an IPv4-only network) with nothing
/// made, both tables' elements in one batch, and gc/check/reconcile of the IPv6 elements.
@Suite("publishing IPv6 policy (fake kernel)")
struct PublishIPv6PolicyTests {
    /// Network web (10.88.0.0/24 and fd00:beef::/64) and a LAN interface eth0 with
    /// 192.0.2.1 and 2001:db8::10.
    private func dualHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("eth0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "eth0")
        try host.kernel.addAddress("2001:db8::10/64", to: "eth0")
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: CIDR("10.88.0.0/24"), bridge: try InterfaceName("brweb"),
                                                      ipv6Subnet: CIDR("fd00:beef::/64")))
        return host
    }

    /// The `ip6 berth` table's two maps as nft prints them.
    private func maps6(_ host: FakeHost) -> String {
        let ruleset = host.nftables.ruleset
        guard let table = ruleset.range(of: "table ip6 berth {"), let start = ruleset.range(of: "\tmap publish_addr", range: table.upperBound..<ruleset.endIndex),
              // The maps only: an endpoint's hairpin is its network's rule, not an element.
              let end = ruleset.range(of: "\tset publication_hairpin", range: start.upperBound..<ruleset.endIndex) else { return ruleset }
        return String(ruleset[start.lowerBound..<end.lowerBound])
    }

    @Test("-p 8080:80 publishes on both families, [v6] and 0.0.0.0 on one; the elements of both tables in one batch; detach restores the ruleset exactly")
    func elementsGolden() throws {
        let host = try dualHost()
        let before = host.nftables.ruleset
        let batches = host.nftables.applied.count
        let endpoint = try host.attach("ctr1", id: "e1", ports: ["8080:80", "[2001:db8::10]:8081:81", "0.0.0.0:8082:82", "5353:53/udp", "[::]:8083:83"])
        #expect(host.nftables.applied.count == batches + 1, "one nftables batch for the elements of both tables")
        #expect(endpoint.ports.map(\.dockerDescription) == [
            "0.0.0.0:8080->80/tcp", "[::]:8080->80/tcp", "[2001:db8::10]:8081->81/tcp", "0.0.0.0:8082->82/tcp",
            "0.0.0.0:5353->53/udp", "[::]:5353->53/udp", "[::]:8083->83/tcp",
        ])
        expectGolden(maps6(host), """
        \tmap publish_addr {
        \t\ttype ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { 2001:db8::10 . tcp . 8081 comment "berth-endpoint e1 @f4ce0001" : fd00:beef::2 . 81 }
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint e1 @f4ce0001" : fd00:beef::2 . 80,
        \t\t\t     tcp . 8083 comment "berth-endpoint e1 @f4ce0001" : fd00:beef::2 . 83,
        \t\t\t     udp . 5353 comment "berth-endpoint e1 @f4ce0001" : fd00:beef::2 . 53 }
        \t}


        """)
        #expect(host.nftables.ruleset.contains("tcp . 8082 comment \"berth-endpoint e1 @f4ce0001\" : 10.88.0.2 . 82"))
        #expect(!maps6(host).contains("8082"), "0.0.0.0:8082:82 is IPv4 only, as in Docker")
        // The state keeps each family's mapping (the host address says which).
        #expect(try host.manager.endpoint("e1").ports.map(\.dockerDescription).sorted() == endpoint.ports.map(\.dockerDescription).sorted())
        #expect(try host.manager.check().isEmpty)
        try host.manager.detach(id: "e1")
        #expect(host.nftables.ruleset == before)
    }

    @Test("an IPv4-only network publishes -p 8080:80 on IPv4 only, and never touches the ip6 table")
    func ipv4OnlyUnchanged() throws {
        let host = try FakeHost()
        try host.network()
        let endpoint = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        #expect(endpoint.ports.map(\.dockerDescription) == ["0.0.0.0:8080->80/tcp"])
        #expect(!host.nftables.ruleset.contains("ip6"))
    }

    @Test("-p 80 takes one host port free in both families")
    func chosenPortBothFamilies() throws {
        let host = try dualHost()
        let ports = try host.attach("ctr1", id: "e1", ports: ["80", "9000-9001:90"]).ports
        #expect(ports.count == 4)
        #expect(ports[0].hostPort == ports[1].hostPort && ports[0].hostAddress == .v4(.any) && ports[1].hostAddress == .v6(.any))
        #expect(ports[2].hostPort == 9000 && ports[3].hostPort == 9000)
        // A container range without host ports: a port of its own for each container port,
        // the same on both families.
        let range = try host.attach("ctr2", id: "e2", ports: ["7000-7001"]).ports
        #expect(range.map(\.containerPort) == [7000, 7000, 7001, 7001])
        #expect(range[0].hostPort == range[1].hostPort && range[2].hostPort == range[3].hostPort && range[0].hostPort != range[2].hostPort)
    }

    @Test("keys are owned per family and host address: a wildcard clashes with its own family only")
    func conflictsPerFamily() throws {
        let host = try dualHost()
        try host.attach("a", id: "a", ports: ["8080:80", "0.0.0.0:9090:90", "[2001:db8::10]:7070:70"])
        host.kernel.addNamespace("b")
        let before = host.kernel.snapshot()
        for (spec, key) in [("[::]:8080:80", "tcp [::]:8080"), ("[2001:db8::10]:8080:80", "tcp [2001:db8::10]:8080"),
                            ("192.0.2.1:8080:80", "tcp 192.0.2.1:8080"), ("9090:90", "tcp 0.0.0.0:9090"), ("7070:70", "tcp [::]:7070")] {
            expect(refusal { try host.attach("b", id: "b", ports: [spec]) }, .conflict, ["port \(key)", "is already published by endpoint a"],
                   parameter: "ports")
        }
        #expect(host.kernel.snapshot() == before)
        // The other family of each is free.
        let b = try host.attach("b", id: "b", ports: ["[::]:9090:90", "0.0.0.0:7070:70", "192.0.2.1:7071:71"])
        #expect(b.ports.map(\.dockerDescription) == ["[::]:9090->90/tcp", "0.0.0.0:7070->70/tcp", "192.0.2.1:7071->71/tcp"])
    }

    @Test("a host listener blocks its own family; one on [::] blocks IPv4 too")
    func listenersPerFamily() throws {
        let host = try dualHost()
        try host.kernel.bind(.tcp, "0.0.0.0", 8080, owner: "process nginx (pid 42)")
        try host.kernel.bind(.tcp, "2001:db8::10", 8443, owner: "process caddy (pid 43)")
        host.kernel.addNamespace("a")
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80"]) }, .conflict, ["port tcp 0.0.0.0:8080", "nginx"], parameter: "ports")
        expect(refusal { try host.attach("a", id: "a", ports: ["8443:443"]) }, .conflict, ["port tcp [::]:8443", "caddy"], parameter: "ports")
        #expect(try host.attach("a", id: "a", ports: ["[::]:8080:80", "0.0.0.0:8443:443"]).ports.count == 2)
        try host.kernel.bind(.tcp, "::", 6000, owner: "process dual (pid 44)")
        expect(refusal { try host.attach("c", id: "c", ports: ["0.0.0.0:6000:60"]) }, .conflict, ["dual"], parameter: "ports")
    }

    static let refused: [(network: String, spec: String, fragments: [String])] = [
        ("web", "[::1]:8080:80", ["[::1] cannot be published", "cannot DNAT a connection from ::1", "no route_localnet"]),
        ("web", "[fe80::1]:8080:80", ["link-local address fe80::1 cannot be published"]),
        ("web", "[2001:db8::99]:8080:80", ["host address 2001:db8::99", "is not an address of this host"]),
        ("v4", "[2001:db8::10]:8080:80", ["IPv6 host address 2001:db8::10 on network v4, which is IPv4-only"]),
        ("v4", "[::]:8080:80", ["IPv6 host address :: on network v4, which is IPv4-only"]),
        ("v4", "[::1]:8080:80", ["[::1] cannot reach an IPv4-only container"]),
    ]

    @Test("IPv6 host addresses no DNAT can serve are refused saying why; the whole request fails, nothing made", arguments: refused.indices)
    func refusals(_ index: Int) throws {
        let (network, spec, fragments) = Self.refused[index]
        let host = try dualHost()
        try host.network("v4", subnet: "10.89.0.0/24")
        host.kernel.addNamespace("a")
        let before = host.kernel.snapshot()
        let error = refusal { try host.attach("a", to: network, id: "a", ports: ["8080:80", spec]) }
        expect(error, .invalidArgument, fragments, parameter: "ports")
        if network == "v4", spec != "[::1]:8080:80" { #expect(error?.object == .network("v4")) }
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("a failed publish batch or a failure after it takes back both families' elements, the veth and the leases",
          arguments: ["batch", "attach.publish"])
    func rollsBack(point: String) throws {
        let host = try dualHost()
        host.kernel.addNamespace("a", loopbackUp: true)
        let before = host.kernel.snapshot()
        if point == "batch" {
            host.nftables.nextApplyError = BerthError(.kernel, "nftables refused the batch")
        } else {
            host.arm(point)
        }
        _ = refusal { try host.attach("a", id: "a", ports: ["8080:80", "5353:53/udp"]) }
        host.disarm()
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints().isEmpty)
        let again = try host.attach("a", id: "a", ports: ["8080:80"])
        #expect(again.ipv6Address?.description == "fd00:beef::2" && again.ports.count == 2)
    }

    @Test("an IPv6 key only the kernel holds refuses the whole batch, IPv4 elements included")
    func kernelRefusalIsAtomic() throws {
        let host = try dualHost()
        var stray = Transaction()
        stray.add(.element(Element([.proto(6), .port(8080)], [.ipv6(try IPv6Address(parsing: "fd00:beef::99")), .port(80)]),
                           in: IPv6FirewallLayout.publishAny))
        try host.nftables.apply(stray)
        host.kernel.addNamespace("a", loopbackUp: true)
        let before = host.kernel.snapshot()
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80"]) }, .conflict,
               ["a published port of endpoint a is already in Berth's nftables maps"], parameter: "ports", remedy: .collectGarbage)
        #expect(host.kernel.snapshot() == before)
    }

    @Test("detach after the ip6 table was flushed still removes the IPv4 elements")
    func detachWithoutIPv6Table() throws {
        let host = try dualHost()
        try host.attach("a", id: "a", ports: ["8080:80"])
        var drop = Transaction()
        drop.delete(.table(IPv6FirewallLayout.table))
        try host.nftables.apply(drop)
        try host.manager.detach(id: "a")
        #expect(!host.nftables.ruleset.contains("berth-endpoint a"))
    }

    @Test("check names a missing IPv6 element, reconcile puts it back exactly")
    func checkAndReconcile() throws {
        let host = try dualHost()
        try host.attach("a", id: "a", ports: ["8080:80"])
        let before = host.nftables.ruleset
        let table = try #require(try host.nftables.list(table: IPv6FirewallLayout.table))
        var cut = Transaction()
        for contents in table.sets { for element in contents.elements { cut.delete(.element(element, in: contents.set)) } }
        try host.nftables.apply(cut)
        let missing = ["endpoint a: element tcp . 8080 comment \"berth-endpoint a @f4ce0001\" : fd00:beef::2 . 80 of IPv6 map publish_any: missing"]
        #expect(try host.manager.check().map(\.description) == missing)
        #expect(try host.manager.check(id: "a").map(\.description) == missing)
        #expect(try host.manager.verifyEndpoint(id: "a").map(\.description).contains { $0.contains("of IPv6 map publish_any") })
        #expect(try host.manager.reconcile().restored.map(\.description) == missing)
        #expect(host.nftables.ruleset == before)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("elements lost from both tables come back in one nftables batch")
    func reconcileBothTablesAtOnce() throws {
        let host = try dualHost()
        try host.attach("a", id: "a", ports: ["8080:80"])
        let before = host.nftables.ruleset
        var cut = Transaction()
        for name in [FirewallLayout.table, IPv6FirewallLayout.table] {
            let table = try #require(try host.nftables.list(table: name))
            for contents in table.sets { for element in contents.elements { cut.delete(.element(element, in: contents.set)) } }
        }
        try host.nftables.apply(cut)
        let batches = host.nftables.applied.count
        #expect(try host.manager.reconcile().restored.count == 2)
        #expect(host.nftables.applied.count == batches + 1, "one batch for the repairs of both tables")
        #expect(host.nftables.ruleset == before)
    }

    @Test("gc removes this instance's IPv6 elements of an endpoint the state does not know (a killed attach), and gc(endpoint:) too")
    func gcIPv6Leftovers() throws {
        let host = try dualHost()
        try host.attach("a", id: "a", ports: ["8080:80"])
        let before = host.nftables.ruleset
        for ghost in ["ghost1", "ghost2"] {
            var stray = Transaction()
            stray.add(.element(Element([.proto(17), .port(ghost == "ghost1" ? 5353 : 5354)], [.ipv6(try IPv6Address(parsing: "fd00:beef::9")), .port(53)],
                                       comment: FirewallLayout.endpointTag(ghost, instance: FakeHost.instance)),
                               in: IPv6FirewallLayout.publishAny))
            try host.nftables.apply(stray)
        }
        #expect(try host.manager.gc(endpoint: "ghost1").firewallObjects == [
            "element udp . 5353 comment \"berth-endpoint ghost1 @f4ce0001\" : fd00:beef::9 . 53 of IPv6 map publish_any",
        ])
        #expect(try host.manager.gc().firewallObjects == [
            "element udp . 5354 comment \"berth-endpoint ghost2 @f4ce0001\" : fd00:beef::9 . 53 of IPv6 map publish_any",
        ])
        #expect(host.nftables.ruleset == before)
    }
}
