import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import BerthTestSupport
import Testing

/// Publications to IPv6 addresses against the fake kernel (what berth-cni chained behind a
/// dual-stack or IPv6-only bridge plugin asks for): each port on both families, its IPv6
/// elements in `ip6 berth` as a dual-stack endpoint's; a hostIP on its own family only;
/// verify, reconcile, prune and gc cover the IPv6 elements.
@Suite("publication policy, IPv6 (fake kernel)")
struct PublicationIPv6PolicyTests {
    /// A host where another program made bridge extbr0 (10.66.0.1/24, fd00:66::1/64) and
    /// namespace ext1, plus LAN addresses 192.0.2.1 and 2001:db8::1 on eth0. No Berth network.
    private func wiredHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("eth0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "eth0")
        try host.kernel.addAddress("2001:db8::1/64", to: "eth0")
        host.kernel.addLink("extbr0", kind: "bridge", up: true)
        try host.kernel.addAddress("10.66.0.1/24", to: "extbr0")
        try host.kernel.addAddress("fd00:66::1/64", to: "extbr0")
        host.kernel.addNamespace("ext1", loopbackUp: true)
        return host
    }

    private func options(_ id: String, address: String? = "10.66.0.2", ipv6: String? = "fd00:66::2", namespace: String = "ext1",
                         ports: [String]) throws -> PublicationOptions {
        PublicationOptions(id: id, group: "ext", address: try address.map { try IPv4Address(parsing: $0) },
                           ipv6Address: try ipv6.map { try IPv6Address(parsing: $0) }, namespace: .name(namespace),
                           hostLink: try InterfaceName("extbr0"), ports: try ports.map { try PortSpec(parsing: $0) })
    }

    @discardableResult
    private func publish(_ host: FakeHost, _ id: String, address: String? = "10.66.0.2", ipv6: String? = "fd00:66::2",
                         namespace: String = "ext1", ports: [String]) throws -> PublicationRecord {
        try host.manager.publish(try options(id, address: address, ipv6: ipv6, namespace: namespace, ports: ports))
    }

    /// The table `ip6 berth` (or `ip berth`) as the fake renders it; nil when absent.
    private func table(_ host: FakeHost, _ family: String = "ip6") -> String? {
        let ruleset = host.nftables.ruleset
        guard let start = ruleset.range(of: "table \(family) berth {") else { return nil }
        let rest = ruleset[start.lowerBound...]
        guard let end = rest.range(of: "\n}") else { return String(rest) }
        return String(rest[..<end.upperBound])
    }

    /// The two maps of a table, as nft prints them.
    private func maps(_ host: FakeHost, _ family: String = "ip6") -> String {
        let text = table(host, family) ?? ""
        guard let start = text.range(of: "\tmap publish_addr"), let end = text.range(of: "\tchain guard") else { return text }
        return String(text[start.lowerBound..<end.lowerBound])
    }

    private func ipv6Element(_ port: UInt16, to address: String, _ containerPort: UInt16, owner: String) throws -> Element {
        Element([.proto(6), .port(port)], [.ipv6(try IPv6Address(parsing: address)), .port(containerPort)], comment: "berth-endpoint \(owner) @f4ce0001")
    }

    @Test("dual stack: a port without hostIP on both families, one with hostIP on its own; ip6 berth made whole when no network made it; unpublish takes both back")
    func dualStackGolden() throws {
        let host = try wiredHost()
        let links = host.kernel.links().map(\.description), addresses = host.kernel.addresses(), routes = host.kernel.routes()
        let record = try publish(host, "pub1", ports: ["8080:80", "192.0.2.1:5353:53/udp", "[2001:db8::1]:8443:443"])
        #expect(record.ports.map(\.description) == ["tcp 0.0.0.0:8080->80", "tcp [::]:8080->80", "udp 192.0.2.1:5353->53", "tcp [2001:db8::1]:8443->443"])
        #expect(record.address == IPv4Address(10, 66, 0, 2) && record.ipv6Address == IPv6Address("fd00:66::2"))
        // Its IPv4 elements are exactly an IPv4-only publication's of the same ports
        // (PublicationPolicyTests.publishGolden has their text).
        let ipv4Only = try wiredHost()
        try publish(ipv4Only, "pub1", ipv6: nil, ports: ["8080:80", "192.0.2.1:5353:53/udp"])
        #expect(maps(host, "ip") == maps(ipv4Only, "ip"))
        #expect(maps(host, "ip").contains("tcp . 8080 comment \"berth-endpoint pub1 @f4ce0001\" : 10.66.0.2 . 80"))
        // The IPv6 elements: one in each map of ip6 berth.
        expectGolden(maps(host), """
        \tmap publish_addr {
        \t\ttype ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { 2001:db8::1 . tcp . 8443 comment "berth-endpoint pub1 @f4ce0001" : fd00:66::2 . 443 }
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint pub1 @f4ce0001" : fd00:66::2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv6_addr . ipv6_addr
        \t\telements = { fd00:66::2 . fd00:66::2 comment "berth-endpoint pub1 @f4ce0001" }
        \t}


        """)
        // ip6 berth was made whole, with its static rules (those DNAT through the maps) and
        // no network's rule: Berth has no network here.
        let table6 = try #require(table(host))
        #expect(IPv6FirewallLayout.staticRules.allSatisfy { table6.contains(Renderer.rule($0)) }, "\(table6)")
        #expect(["guard", "prerouting", "output", "postrouting", "forward"].allSatisfy { table6.contains("\tchain \($0) {") })
        #expect(!table6.contains("berth-network"))
        #expect(host.kernel.links().map(\.description) == links)
        #expect(host.kernel.addresses() == addresses && host.kernel.routes() == routes)
        // route_localnet for 0.0.0.0:8080 (127.0.0.1 reaches it); IPv6 has none to set.
        #expect(host.kernel.sysctlWrites == ["host: net/ipv4/conf/extbr0/route_localnet=1"])
        // The record reads back with its IPv6 address, its ports in the store's order.
        let stored = try #require(try host.manager.publication(id: "pub1"))
        #expect(stored.ipv6Address == record.ipv6Address && stored.address == record.address && Set(stored.ports) == Set(record.ports))

        try host.manager.unpublish(id: "pub1")
        #expect(!host.nftables.ruleset.contains("pub1"))
        #expect(try host.manager.publication(id: "pub1") == nil)
        try host.manager.unpublish(id: "pub1")
    }

    @Test("a table read as there and gone before the batch (another state directory's gc deleted it unused) is made in a batch planned anew")
    func tableGoneBeforeBatch() throws {
        let host = try wiredHost()
        // ip berth exists and is unused; ip6 berth does not: the elements alone are refused,
        // then the batch that makes ip6 berth finds ip berth gone.
        try publish(host, "v4", ipv6: nil, ports: ["8080:80"])
        try host.manager.unpublish(id: "v4")
        #expect(table(host, "ip") != nil && table(host) == nil)
        host.nftables.beforeApplyDelay = 1
        host.nftables.beforeNextApply = {
            var drop = Transaction()
            drop.delete(.table(FirewallLayout.table))
            try? host.nftables.backend.apply(drop)
        }
        try publish(host, "both", ports: ["8081:80"])
        #expect(table(host, "ip")?.contains("berth-endpoint both") == true && table(host)?.contains("berth-endpoint both") == true)
    }

    @Test("IPv6 only: its ports on IPv6 alone, no ip berth table made, no route_localnet")
    func ipv6Only() throws {
        let host = try wiredHost()
        let record = try publish(host, "pub6", address: nil, ports: ["8080:80", "[::]:8081:81/udp"])
        #expect(record.ports.map(\.description) == ["tcp [::]:8080->80", "udp [::]:8081->81"])
        #expect(table(host, "ip") == nil)
        expectGolden(maps(host), """
        \tmap publish_addr {
        \t\ttype ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint pub6 @f4ce0001" : fd00:66::2 . 80,
        \t\t\t     udp . 8081 comment "berth-endpoint pub6 @f4ce0001" : fd00:66::2 . 81 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv6_addr . ipv6_addr
        \t\telements = { fd00:66::2 . fd00:66::2 comment "berth-endpoint pub6 @f4ce0001" }
        \t}


        """)
        #expect(host.kernel.sysctlWrites.isEmpty)
        #expect(try host.manager.verifyPublication(id: "pub6").isEmpty)
        // A check of the whole host asks for no ip berth either: nothing of IPv4 is Berth's.
        #expect(try host.manager.check().isEmpty)
        try host.manager.unpublish(id: "pub6")
        #expect(!host.nftables.ruleset.contains("pub6"))
    }

    @Test("dual stack with every port on an IPv6 host address: only ip6 berth is made, and verify, check and reconcile ask for no ip berth")
    func dualStackIPv6HostAddressesOnly() throws {
        let host = try wiredHost()
        let record = try publish(host, "pub1", ports: ["[2001:db8::1]:8443:443", "[::]:8080:80"])
        #expect(record.ports.map(\.description) == ["tcp [2001:db8::1]:8443->443", "tcp [::]:8080->80"])
        #expect(table(host, "ip") == nil)
        #expect(table(host) != nil)
        let before = host.nftables.ruleset
        #expect(try host.manager.verifyPublication(id: "pub1").isEmpty)
        #expect(try host.manager.check().isEmpty)
        let report = try host.manager.reconcile()
        #expect(report.restored.isEmpty)
        #expect(table(host, "ip") == nil)
        #expect(host.nftables.ruleset == before)
    }

    static let refusals: [(String, String?, String?, String, String, String)] = [
        // (name, IPv4, IPv6, port, words, parameter)
        ("IPv6 hostIP, IPv4 only", "10.66.0.2", nil, "[2001:db8::1]:8080:80",
         "IPv6 host address 2001:db8::1 for a publication to IPv4 address 10.66.0.2 only, which has no IPv6 address", "ports"),
        ("[::] hostIP, IPv4 only", "10.66.0.2", nil, "[::]:8080:80",
         "IPv6 host address :: for a publication to IPv4 address 10.66.0.2 only", "ports"),
        ("IPv4 hostIP, IPv6 only", nil, "fd00:66::2", "192.0.2.1:8080:80",
         "IPv4 host address 192.0.2.1 for a publication to IPv6 address fd00:66::2 only, which has no IPv4 address", "ports"),
        ("[::1]", "10.66.0.2", "fd00:66::2", "[::1]:8080:80", "[::1] cannot be published", "ports"),
        ("no address", nil, nil, "8080:80", "a publication needs an address to forward to", "address"),
        ("link-local", nil, "fe80::2", "8080:80", "cannot publish ports to IPv6 address fe80::2", "ipv6Address"),
        ("loopback", "10.66.0.2", "::1", "8080:80", "cannot publish ports to IPv6 address ::1", "ipv6Address"),
        ("multicast", nil, "ff02::1", "8080:80", "cannot publish ports to IPv6 address ff02::1", "ipv6Address"),
    ]

    @Test("refused: a hostIP of a family the publication has no address of (naming both), no address, an IPv6 address no DNAT can reach; nothing is left",
          arguments: refusals.indices)
    func refused(_ index: Int) throws {
        let (_, address, ipv6, port, words, parameter) = Self.refusals[index]
        let host = try wiredHost()
        let before = host.kernel.snapshot()
        let error = refusal { try publish(host, "pub1", address: address, ipv6: ipv6, ports: [port]) }
        expect(error, .invalidArgument, [words], parameter: parameter)
        #expect(error?.operation == .publish)
        #expect(try host.manager.publications().isEmpty)
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
        #expect(host.kernel.snapshot() == before)
    }

    @Test("a failure after the batch takes both families' elements back; a key held on IPv6 is refused naming its holder")
    func rollbackAndClash() throws {
        let host = try wiredHost()
        host.arm("publish.conntrack")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80"]) }, .internalError, ["publish.conntrack"])
        host.disarm()
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
        #expect(try host.manager.publications().isEmpty)

        try publish(host, "pub6", address: nil, ports: ["[2001:db8::1]:9090:90"])
        host.kernel.addNamespace("ext2")
        let held = refusal { try publish(host, "pub2", address: "10.66.0.3", ipv6: "fd00:66::3", namespace: "ext2", ports: ["9090:90"]) }
        expect(held, .conflict, ["port tcp [::]:9090", "already published by publication pub6"], parameter: "ports")
        #expect(try host.manager.publications().map(\.id) == ["pub6"])
    }

    @Test("verify and check name a lost IPv6 element and a lost ip6 table; reconcile puts them back exactly")
    func verifyAndReconcile() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        let before = host.nftables.ruleset
        #expect(try host.manager.verifyPublication(id: "pub1").isEmpty)

        var drop = Transaction()
        drop.delete(.element(try ipv6Element(8080, to: "fd00:66::2", 80, owner: "pub1"), in: IPv6FirewallLayout.publishAny))
        try host.nftables.apply(drop)
        let lost = "endpoint pub1: element tcp . 8080 comment \"berth-endpoint pub1 @f4ce0001\" : fd00:66::2 . 80 of IPv6 map publish_any: missing"
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.description) == [lost])
        #expect(try host.manager.check().map(\.description) == [lost])
        #expect(try host.manager.reconcile().restored.map(\.description) == [lost])
        #expect(host.nftables.ruleset == before)

        var flush = Transaction()
        flush.delete(.table(IPv6FirewallLayout.table))
        try host.nftables.apply(flush)
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.object) == ["nftables table ip6 berth"])
        #expect(try host.manager.reconcile().restored.map(\.object) == ["nftables table ip6 berth"])
        #expect(host.nftables.ruleset == before)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("gc removes a dead publication's elements of both families, and the IPv6 elements a crashed publish left, on a host without IPv6 networks; prune removes both families")
    func gcAndPrune() throws {
        let host = try wiredHost()
        try host.network()
        host.kernel.addNamespace("ext2")
        try publish(host, "dead", ports: ["8081:80"])
        try publish(host, "live", address: "10.66.0.3", ipv6: "fd00:66::3", namespace: "ext2", ports: ["8082:80"])
        // A publish that crashed after its batch and before its record committed: its
        // elements carry its id, which the state does not know.
        var crashed = Transaction()
        crashed.create(.element(try ipv6Element(8083, to: "fd00:66::4", 80, owner: "ghost"), in: IPv6FirewallLayout.publishAny))
        try host.nftables.apply(crashed)
        host.kernel.destroyNamespace(try host.namespace("ext1"))
        let report = try host.manager.gc()
        #expect(report.endpoints == ["dead"])
        #expect(report.firewallObjects == [
            "element tcp . 8081 comment \"berth-endpoint dead @f4ce0001\" : 10.66.0.2 . 80 of map publish_any",
            "element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint dead @f4ce0001\" of set publication_hairpin",
            "element tcp . 8081 comment \"berth-endpoint dead @f4ce0001\" : fd00:66::2 . 80 of IPv6 map publish_any",
            "element tcp . 8083 comment \"berth-endpoint ghost @f4ce0001\" : fd00:66::4 . 80 of IPv6 map publish_any",
            "element fd00:66::2 . fd00:66::2 comment \"berth-endpoint dead @f4ce0001\" of IPv6 set publication_hairpin",
        ])
        #expect(try host.manager.publications().map(\.id) == ["live"])
        #expect(try host.manager.verifyPublication(id: "live").isEmpty)
        #expect(try host.manager.gc().isEmpty)

        #expect(try host.manager.prunePublications(group: "ext", keeping: []).endpoints == ["live"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint live"))
    }

    @Test("prunePublications (chained CNI GC) removes the elements of a publish stopped after its batch, before its record committed, in both tables, on a host without IPv6 networks; a kept publication's stay")
    func pruneCrashedPublish() throws {
        let host = try wiredHost()
        host.kernel.addNamespace("ext2")
        try publish(host, "live", address: "10.66.0.3", ipv6: "fd00:66::3", namespace: "ext2", ports: ["8082:80"])
        let kept = host.nftables.ruleset
        // Stopped at publish.conntrack, after its batch: the record never commits (the state
        // transaction rolls back) and, as in a process killed there, the undo never reaches
        // the kernel (its batch is refused), so the elements stay with nothing recording them.
        host.arm("publish.conntrack")
        host.nftables.nextApplyError = BerthError(.kernel, "killed")
        host.nftables.applyErrorDelay = 1
        expect(refusal { try publish(host, "ghost", ports: ["8083:80"]) }, .internalError, ["publish.conntrack"])
        host.disarm()
        #expect(try host.manager.publications().map(\.id) == ["live"])
        expectGolden(maps(host, "ip") + maps(host), """
        \tmap publish_addr {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { tcp . 8082 comment "berth-endpoint live @f4ce0001" : 10.66.0.3 . 80,
        \t\t\t     tcp . 8083 comment "berth-endpoint ghost @f4ce0001" : 10.66.0.2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv4_addr . ipv4_addr
        \t\telements = { 10.66.0.2 . 10.66.0.2 comment "berth-endpoint ghost @f4ce0001",
        \t\t\t     10.66.0.3 . 10.66.0.3 comment "berth-endpoint live @f4ce0001" }
        \t}

        \tmap publish_addr {
        \t\ttype ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv6_addr . inet_service
        \t\telements = { tcp . 8082 comment "berth-endpoint live @f4ce0001" : fd00:66::3 . 80,
        \t\t\t     tcp . 8083 comment "berth-endpoint ghost @f4ce0001" : fd00:66::2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv6_addr . ipv6_addr
        \t\telements = { fd00:66::2 . fd00:66::2 comment "berth-endpoint ghost @f4ce0001",
        \t\t\t     fd00:66::3 . fd00:66::3 comment "berth-endpoint live @f4ce0001" }
        \t}


        """)

        let report = try host.manager.prunePublications(group: "ext", keeping: ["live"])
        #expect(report.endpoints.isEmpty)
        #expect(report.firewallObjects == [
            "element tcp . 8083 comment \"berth-endpoint ghost @f4ce0001\" : 10.66.0.2 . 80 of map publish_any",
            "element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint ghost @f4ce0001\" of set publication_hairpin",
            "element tcp . 8083 comment \"berth-endpoint ghost @f4ce0001\" : fd00:66::2 . 80 of IPv6 map publish_any",
            "element fd00:66::2 . fd00:66::2 comment \"berth-endpoint ghost @f4ce0001\" of IPv6 set publication_hairpin",
        ])
        #expect(host.nftables.ruleset == kept)
        #expect(try host.manager.verifyPublication(id: "live").isEmpty)
        #expect(try host.manager.prunePublications(group: "ext", keeping: ["live"]).isEmpty)
        // The freed key can be published again.
        #expect(try publish(host, "ghost", ports: ["8083:80"]).ports.count == 2)
    }

    @Test("a failed publish leaves none of the tables it would have made: a refused batch, a key another instance holds in ip berth, a failure after the batch")
    func failureMakesNoTable() throws {
        let host = try wiredHost()
        #expect(table(host, "ip") == nil && table(host) == nil)
        let empty = host.nftables.ruleset

        // The batch that makes both tables with the elements is refused (the first, of the
        // elements alone, found no table).
        host.nftables.nextApplyError = BerthError(.kernel, "nftables refused the batch")
        host.nftables.applyErrorDelay = 1
        expect(refusal { try publish(host, "pub1", ports: ["8080:80"]) }, .kernel, ["nftables refused the batch"])
        #expect(host.nftables.ruleset == empty)

        // A failure after the batch: the undo takes back the elements and both tables it made.
        host.arm("publish.conntrack")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80"]) }, .internalError, ["publish.conntrack"])
        host.disarm()
        #expect(host.nftables.ruleset == empty)
        #expect(try host.manager.publications().isEmpty)

        // Another instance publishes 8080 on IPv4 alone: ip berth exists, ip6 berth does not.
        // Our dual-stack publish (its IPv6-only port first, so the elements alone are refused
        // for want of ip6 berth before the clash shows) clashes in ip berth; ip6 berth, which
        // its batch would have made, is not left behind.
        let other = try FakeHost(kernel: host.kernel, instance: "0dd1ce00")
        host.kernel.addNamespace("ext2")
        try other.manager.publish(try options("theirs", address: "10.66.0.3", ipv6: nil, namespace: "ext2", ports: ["8080:80"]))
        let before = host.nftables.ruleset
        #expect(table(host, "ip") != nil && table(host) == nil)
        let clash = refusal { try publish(host, "pub1", ports: ["[2001:db8::1]:8443:443", "8080:80"]) }
        expect(clash, .conflict, ["already in Berth's nftables maps"], parameter: "ports", remedy: .collectGarbage)
        #expect(host.nftables.ruleset == before)
        #expect(try host.manager.publications().isEmpty)

        // With ip berth there already, a failure after the batch takes back our elements and
        // ip6 berth, which the batch made; ip berth and the other instance's element stay.
        host.arm("publish.conntrack")
        expect(refusal { try publish(host, "pub1", ports: ["8081:80"]) }, .internalError, ["publish.conntrack"])
        host.disarm()
        #expect(host.nftables.ruleset == before)
    }
}
