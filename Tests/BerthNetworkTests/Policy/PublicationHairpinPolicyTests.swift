import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import BerthTestSupport
import Testing

/// A publication's hairpin against the fake kernel: the `publication_hairpin` set of each
/// table and its static rule, one `ADDR . ADDR` element per family the publication has ports
/// in, tagged as its ports' elements, added and removed in their batch; `check` names a
/// missing one and `reconcile` restores it; a table an earlier Berth made without the set
/// is upgraded by the publish that needs it, or by `reconcile`.
@Suite("publication hairpin (fake kernel)")
struct PublicationHairpinPolicyTests {
    /// A host where another program made bridge extbr0 (10.66.0.1/24, fd00:66::1/64) and
    /// namespaces ext1 and ext2. No Berth network unless a test makes one.
    private func wiredHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("extbr0", kind: "bridge", up: true)
        try host.kernel.addAddress("10.66.0.1/24", to: "extbr0")
        try host.kernel.addAddress("fd00:66::1/64", to: "extbr0")
        host.kernel.addNamespace("ext1", loopbackUp: true)
        host.kernel.addNamespace("ext2", loopbackUp: true)
        return host
    }

    @discardableResult
    private func publish(_ host: FakeHost, _ id: String, address: String? = "10.66.0.2", ipv6: String? = nil, namespace: String = "ext1",
                         ports: [String]) throws -> PublicationRecord {
        try host.manager.publish(PublicationOptions(
            id: id, group: "ext", address: try address.map { try IPv4Address(parsing: $0) }, ipv6Address: try ipv6.map { try IPv6Address(parsing: $0) },
            namespace: .name(namespace), hostLink: try InterfaceName("extbr0"), ports: try ports.map { try PortSpec(parsing: $0) }))
    }

    /// The `publication_hairpin` set of the table of `family`, as nft prints it.
    private func hairpinSet(_ host: FakeHost, _ family: String = "ip") -> String {
        let ruleset = host.nftables.ruleset
        guard let table = ruleset.range(of: "table \(family) berth {"),
              let start = ruleset.range(of: "\tset publication_hairpin {", range: table.upperBound..<ruleset.endIndex),
              let end = ruleset.range(of: "\t}\n", range: start.upperBound..<ruleset.endIndex) else { return "" }
        return String(ruleset[start.lowerBound..<end.upperBound])
    }

    private static let element4 = Element([.ipv4(IPv4Address(10, 66, 0, 2)), .ipv4(IPv4Address(10, 66, 0, 2))])

    @Test("a publication's table has the set and its static rule; its address's element comes and goes with its ports")
    func golden() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        expectGolden(host.nftables.ruleset, """
        table ip berth {
        \tmap publish_addr {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint pub1 @f4ce0001" : 10.66.0.2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv4_addr . ipv4_addr
        \t\telements = { 10.66.0.2 . 10.66.0.2 comment "berth-endpoint pub1 @f4ce0001" }
        \t}

        \tchain guard {
        \t\ttype filter hook prerouting priority raw; policy accept;
        \t\tiifname != "lo" ip daddr 127.0.0.0/8 drop comment "berth: loopback only from lo"
        \t\tiifname != "lo" ip saddr 127.0.0.0/8 drop comment "berth: loopback only from lo"
        \t}

        \tchain prerouting {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tfib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
        \t\tfib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        \t}

        \tchain output {
        \t\ttype nat hook output priority -100; policy accept;
        \t\tfib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
        \t\tfib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        \t}

        \tchain postrouting {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\tct status dnat ip saddr 127.0.0.0/8 masquerade comment "berth: loopback publishes"
        \t\tct status dnat ip saddr . ip daddr @publication_hairpin masquerade comment "berth: publication hairpin"
        \t}

        \tchain forward {
        \t\ttype filter hook forward priority filter; policy accept;
        \t}
        }

        """)
        try host.manager.unpublish(id: "pub1")
        #expect(!host.nftables.ruleset.contains("pub1"))
        #expect(hairpinSet(host) == "\tset publication_hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n\t}\n")
    }

    @Test("a dual-stack publication gets one element per family, in ip6 berth too; one without IPv4 ports gets no IPv4 element; unpublish leaves none")
    func bothFamilies() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ipv6: "fd00:66::2", ports: ["8080:80"])
        #expect(hairpinSet(host) == """
        \tset publication_hairpin {
        \t\ttype ipv4_addr . ipv4_addr
        \t\telements = { 10.66.0.2 . 10.66.0.2 comment "berth-endpoint pub1 @f4ce0001" }
        \t}

        """)
        #expect(hairpinSet(host, "ip6") == """
        \tset publication_hairpin {
        \t\ttype ipv6_addr . ipv6_addr
        \t\telements = { fd00:66::2 . fd00:66::2 comment "berth-endpoint pub1 @f4ce0001" }
        \t}

        """)
        #expect(host.nftables.ruleset.contains(
            "\t\tct status dnat ip6 saddr . ip6 daddr @publication_hairpin masquerade comment \"berth: publication hairpin\"\n"))
        // Ports on an IPv6 host address only: no IPv4 element (nothing to DNAT to it).
        try publish(host, "pub2", address: "10.66.0.3", ipv6: "fd00:66::3", namespace: "ext2", ports: ["[fd00:66::1]:9090:90"])
        #expect(!hairpinSet(host).contains("10.66.0.3") && hairpinSet(host, "ip6").contains("fd00:66::3 . fd00:66::3 comment \"berth-endpoint pub2 @f4ce0001\""))

        try host.manager.unpublish(id: "pub1")
        try host.manager.unpublish(id: "pub2")
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("check names a missing hairpin element, reconcile puts it back; gc of a gone publication removes it")
    func checkAndReconcile() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        let before = host.nftables.ruleset
        var drop = Transaction()
        drop.delete(.element(Self.element4, in: FirewallLayout.publicationHairpin))
        try host.nftables.apply(drop)
        let missing = "endpoint pub1: element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub1 @f4ce0001\" of set publication_hairpin: missing"
        #expect(try host.manager.check().map(\.description) == [missing])
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.description) == [missing])
        #expect(try host.manager.reconcile().restored.map(\.description) == [missing])
        #expect(host.nftables.ruleset == before)

        host.kernel.destroyNamespace(try host.namespace("ext1"))
        let report = try host.manager.gc()
        #expect(report.firewallObjects.contains("element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub1 @f4ce0001\" of set publication_hairpin"),
                "\(report.firewallObjects)")
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("two publications to one address share its element: the first's serves both, and its unpublish hands it to the second in the same batch")
    func sharedAddress() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        try publish(host, "pub2", namespace: "ext2", ports: ["8081:80"])
        #expect(hairpinSet(host).contains("elements = { 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub1 @f4ce0001\" }"))
        #expect(try host.manager.check().isEmpty)
        let generation = try host.nftables.generation()
        try host.manager.unpublish(id: "pub1")
        #expect(try host.nftables.generation() == generation &+ 1, "one batch")
        #expect(hairpinSet(host).contains("elements = { 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub2 @f4ce0001\" }"), "\(hairpinSet(host))")
        #expect(try host.manager.check().isEmpty)
        // The survivor's own unpublish takes it, and gives it to no one.
        try host.manager.unpublish(id: "pub2")
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("a prune that removes the publication owning a shared hairpin element hands it to the one it keeps")
    func sharedAddressPruned() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        try publish(host, "pub2", namespace: "ext2", ports: ["8081:80"])
        let report = try host.manager.prunePublications(group: "ext", keeping: ["pub2"])
        #expect(report.endpoints == ["pub1"] && report.failed.isEmpty)
        #expect(hairpinSet(host).contains("elements = { 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub2 @f4ce0001\" }"), "\(hairpinSet(host))")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a prune of many publications to a few addresses (one read of them, indexed) leaves each address's hairpin element to a publication it keeps, or to one whose teardown failed, and none for an address it empties")
    func manyPrunedShareHairpins() throws {
        let host = try wiredHost()
        // 60 publications, 15 to each of four addresses, in id order p00 … p59 (p00, p04, … to .2).
        let addresses = ["10.66.0.2", "10.66.0.3", "10.66.0.4", "10.66.0.5"]
        func id(_ index: Int) -> String { index < 10 ? "p0\(index)" : "p\(index)" }
        for index in 0..<60 {
            try publish(host, id(index), address: addresses[index % 4], namespace: index % 2 == 0 ? "ext1" : "ext2", ports: ["\(9000 + index):80"])
        }
        // .2 keeps its last, .3 one in the middle, .4 and .5 none; and the teardown of p20
        // (to .2) fails: refused at the 21st unpublish batch (p00 … p19 go before it).
        let keeping: Set<String> = [id(56), id(29)]
        host.nftables.applyErrorDelay = 20
        host.nftables.nextApplyError = BerthError(.kernel, "refused by the test")
        let report = try host.manager.prunePublications(group: "ext", keeping: keeping)
        #expect(report.failed.map(\.id) == [id(20)], "\(report.failed)")
        #expect(report.endpoints.count == 57)
        #expect(Set(try host.manager.publications().map(\.id)) == keeping.union([id(20)]))
        // .2's element was handed on from p00 to p20, which keeps it: it serves p56 too.
        let set = hairpinSet(host)
        let elements = set.matches(of: #/(10\.66\.0\.\d) \. (10\.66\.0\.\d) comment "berth-endpoint (p\d\d) @f4ce0001"/#).map { "\($0.1) \($0.3)" }
        #expect(elements.count == 2, "\(set)")
        #expect(elements.contains("10.66.0.3 \(id(29))"), "\(set)")
        #expect(elements.contains("10.66.0.2 \(id(20))"), "\(set)")
        #expect(try host.manager.check().isEmpty)
        // What is left goes with the next prune, every element with it.
        #expect(Set(try host.manager.prunePublications(group: "ext", keeping: []).endpoints) == keeping.union([id(20)]))
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("a prune whose teardown of one publication fails keeps that one, with its record and elements, and removes the others")
    func pruneGoesOn() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        try publish(host, "pub2", address: "10.66.0.3", namespace: "ext2", ports: ["8081:80"])
        // The first unpublish batch (pub1's: publications go in id order) is refused.
        host.nftables.nextApplyError = BerthError(.kernel, "refused by the test")
        let report = try host.manager.prunePublications(group: "ext", keeping: [])
        #expect(report.endpoints == ["pub2"])
        #expect(report.failed.map(\.id) == ["pub1"] && report.failed.first?.error.message == "refused by the test")
        #expect(try host.manager.publications().map(\.id) == ["pub1"])
        #expect(host.nftables.ruleset.contains("berth-endpoint pub1") && !host.nftables.ruleset.contains("berth-endpoint pub2"))
        #expect(try host.manager.check().isEmpty)
        // The next prune removes it.
        #expect(try host.manager.prunePublications(group: "ext", keeping: []).endpoints == ["pub1"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("a prune whose conntrack cleanup fails after the elements' deletion keeps the record without elements (its ports reserved), and the next prune runs the cleanup again and removes it")
    func pruneConntrackFailureKeepsRecord() throws {
        let host = try wiredHost()
        // A datagram port: its flows are cleaned up (a TCP-only publication's are not).
        try publish(host, "pub1", ports: ["5353:53/udp"])
        host.kernel.refuse("conntrack entries", errno: FakeErrno.permission)
        let report = try host.manager.prunePublications(group: "ext", keeping: [])
        #expect(report.endpoints.isEmpty && report.failed.map(\.id) == ["pub1"], "\(report)")
        #expect(try host.manager.publications().map(\.id) == ["pub1"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint pub1"), "the elements' deletion is the kernel's, not rolled back")
        let mark = host.kernel.mark
        #expect(try host.manager.prunePublications(group: "ext", keeping: []).endpoints == ["pub1"])
        #expect(host.kernel.operations(since: mark).contains { $0.contains("conntrack entries") })
        #expect(try host.manager.publications().isEmpty)
    }

    /// Turns Berth's IPv4 table back into what a Berth before the hairpin set made: no
    /// `publication_hairpin`, no rule through it.
    private func downgrade(_ host: FakeHost) throws {
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        var transaction = Transaction()
        for rule in table.chains.flatMap(\.rules) where rule.comment == "berth: publication hairpin" { transaction.delete(.rule(rule)) }
        transaction.delete(.set(FirewallLayout.publicationHairpin))
        try host.nftables.apply(transaction)
        #expect(!host.nftables.ruleset.contains("publication_hairpin"))
    }

    @Test("a table an earlier Berth made: an endpoint's check leaves out what only publications use, before and after a detach and attach again")
    func earlierTableEndpoint() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        try downgrade(host)
        #expect(try host.manager.verifyEndpoint(id: "e1").isEmpty)
        // DEL and ADD: the attach reads no table (its bridge is ready), so the table stays
        // as it was, and the endpoint's check has nothing to say of it either.
        try host.manager.detach(id: "e1")
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        #expect(try host.manager.verifyEndpoint(id: "e1").isEmpty)
        #expect(!host.nftables.ruleset.contains("publication_hairpin"))
        // The host's check still names what the table lacks.
        #expect(try host.manager.check().map(\.description).sorted()
            == ["rule 'ct status dnat ip saddr . ip daddr @publication_hairpin masquerade comment \"berth: publication hairpin\"' in chain postrouting: missing",
                "set publication_hairpin: missing"])
    }

    @Test("a table an earlier Berth made: a network created on it, or an attach that brings a bridge back, adds the set and its rule in their place")
    func earlierTableUpgradedByNetwork() throws {
        let host = try wiredHost()
        try host.network()
        try host.network("db", subnet: "10.89.0.0/24")
        let fresh = host.nftables.ruleset
        try host.manager.removeNetwork(named: "db")
        try downgrade(host)
        let generation = try host.nftables.generation()
        try host.network("db", subnet: "10.89.0.0/24")
        #expect(try host.nftables.generation() == generation &+ 1, "one batch")
        #expect(host.nftables.ruleset == fresh, "\(host.nftables.ruleset)")
        #expect(try host.manager.check().isEmpty)

        // An attach whose bridge is not ready puts the network's firewall in place too.
        try downgrade(host)
        try host.handle.netlink.setDown(.name(try InterfaceName("brweb")))
        try host.attach("ctr1", id: "e1")
        #expect(host.nftables.ruleset == fresh, "\(host.nftables.ruleset)")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a network's upgrade of an earlier Berth's table is guarded: another process's upgrade meanwhile refuses it, and the plan made anew adds nothing twice")
    func earlierTableUpgradeRace() throws {
        let host = try wiredHost()
        try host.network()
        let other = try FakeHost(kernel: host.kernel, instance: "0dd1ce00")
        try other.network("o", subnet: "10.90.0.0/24")
        try downgrade(host)
        // Another state directory's reconcile upgrades the table between this one's read
        // and its batch.
        host.nftables.beforeNextApply = { _ = try? other.manager.reconcile() }
        try host.network("db", subnet: "10.89.0.0/24")
        #expect(host.nftables.beforeNextApply == nil)
        #expect(host.nftables.ruleset.ranges(of: "@publication_hairpin masquerade").count == 1, "\(host.nftables.ruleset)")
        #expect(try host.manager.check().isEmpty)
        #expect(try other.manager.check().isEmpty)
    }

    /// Has `count` batches of another program commit, each right before one of `host`'s
    /// next applies (between its read and its batch): a table of its own, `ip otherN`.
    private func busyHost(_ host: FakeHost, changes count: Int) {
        var made = 0
        func armed() -> () -> Void {
            {
                made += 1
                var theirs = Transaction()
                theirs.add(.table(Table(.ip, "other\(made)")))
                try? host.nftables.backend.apply(theirs)
                if made < count { host.nftables.beforeNextApply = armed() }
            }
        }
        host.nftables.beforeNextApply = armed()
    }

    @Test("a network's upgrade of an earlier Berth's table survives three batches of other processes in a row, planned anew each time, adding nothing twice")
    func earlierTableUpgradeBusyHost() throws {
        let host = try wiredHost()
        try host.network()
        try downgrade(host)
        busyHost(host, changes: 3)
        try host.network("db", subnet: "10.89.0.0/24")
        #expect(host.nftables.beforeNextApply == nil)
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("table ip other3") && ruleset.ranges(of: "@publication_hairpin masquerade").count == 1, "\(ruleset)")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a network's upgrade overtaken by other processes' batches at every one of its 5 plans fails with a conflict that says so, leaving nothing")
    func earlierTableUpgradeNeverSettles() throws {
        let host = try wiredHost()
        try host.network()
        try downgrade(host)
        busyHost(host, changes: 50)
        let error = refusal { try host.network("db", subnet: "10.89.0.0/24") }
        expect(error, .conflict, ["Berth's nftables tables changed 5 times while network db's rules were being installed"])
        host.nftables.beforeNextApply = nil
        #expect(try host.manager.networks().map(\.name) == ["web"])
        #expect(!host.nftables.ruleset.contains("berth-network db"))
    }

    @Test("a publish that upgrades an earlier Berth's table survives three batches of other processes in a row (one before its first try), adding the rule once")
    func earlierTablePublishBusyHost() throws {
        let host = try wiredHost()
        try host.network()
        try downgrade(host)
        busyHost(host, changes: 3)
        try publish(host, "pub1", ports: ["8080:80"])
        #expect(host.nftables.beforeNextApply == nil)
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("table ip other3") && ruleset.ranges(of: "@publication_hairpin masquerade").count == 1, "\(ruleset)")
        #expect(hairpinSet(host).contains("berth-endpoint pub1"))
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a table an earlier Berth made: a publish adds the set and its rule in their place, in its batch; check and reconcile without a publish")
    func earlierTable() throws {
        let host = try wiredHost()
        try host.network()
        let fresh = host.nftables.ruleset
        try downgrade(host)

        // check names what the table lacks; reconcile adds it, the rule in its place.
        #expect(try host.manager.check().map(\.description).sorted()
            == ["rule 'ct status dnat ip saddr . ip daddr @publication_hairpin masquerade comment \"berth: publication hairpin\"' in chain postrouting: missing",
                "set publication_hairpin: missing"])
        _ = try host.manager.reconcile()
        #expect(host.nftables.ruleset == fresh)

        // A publish upgrades it in the batch of its elements.
        try downgrade(host)
        let generation = try host.nftables.generation()
        try publish(host, "pub1", ports: ["8080:80"])
        #expect(try host.nftables.generation() == generation &+ 1, "one batch")
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("""
        \t\tct status dnat ip saddr 127.0.0.0/8 masquerade comment "berth: loopback publishes"
        \t\tct status dnat ip saddr . ip daddr @publication_hairpin masquerade comment "berth: publication hairpin"
        \t\tct status dnat ip saddr 10.88.0.0/24 oifname "brweb" masquerade comment "berth-network web @f4ce0001"

        """), "\(ruleset)")
        #expect(hairpinSet(host).contains("elements = { 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pub1 @f4ce0001\" }"))
        #expect(try host.manager.check().isEmpty)
        try host.manager.unpublish(id: "pub1")
        #expect(host.nftables.ruleset == fresh)
    }
}
