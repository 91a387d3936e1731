import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// What outside Berth's objects keeps its networks from forwarding, against the fake
/// kernel: IPv4 forwarding turned on (a warning), turned off again (a `check` problem that
/// `reconcile` repairs), and another firewall's forward chain with policy drop (a warning
/// and a `check` problem naming it, never touched).
@Suite("host forwarding and foreign forward drops (fake kernel)")
struct HostForwardingPolicyTests {
    private func create(_ host: FakeHost, _ name: String = "web", subnet: String = "10.88.0.0/24", ipv6: Bool = false,
                        isInternal: Bool = false) throws -> [HostWarning] {
        var warnings: [HostWarning] = []
        try host.manager.createNetwork(NetworkOptions(name: name, subnet: try CIDR(parsing: subnet), bridge: try InterfaceName("br\(name)"),
                                                      isInternal: isInternal, ipv6: ipv6), warnings: &warnings)
        return warnings
    }

    /// Docker's (iptables-nft) `ip filter`: FORWARD with policy drop, and DOCKER-USER.
    private func addDockerFilter(_ host: FakeHost, policy: BaseChain.Policy = .drop, family: Family = .ip) throws {
        let table = Table(family, "filter")
        var transaction = Transaction()
        transaction.add(.table(table))
        transaction.add(.chain(table.chain("FORWARD", BaseChain(type: .filter, hook: .forward, priority: .filter, policy: policy))))
        transaction.add(.chain(table.chain("DOCKER-USER")))
        try host.nftables.apply(transaction)
    }

    @Test("the first network turns IPv4 forwarding on and says so; the next one finds it on and says nothing")
    func ipv4ForwardingWarning() throws {
        let host = try FakeHost()
        #expect(try create(host) == [HostWarning(.ipv4ForwardingEnabled)])
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "1")
        #expect(HostWarning(.ipv4ForwardingEnabled).description.hasPrefix("IPv4 forwarding is now on (net.ipv4.ip_forward=1, it was 0)"))
        #expect(try create(host, "db", subnet: "10.89.0.0/24").isEmpty)
    }

    @Test("ip_forward set back to 0: check says so, reconcile turns it on (with the warning), check is clean again")
    func ipv4ForwardingOff() throws {
        let host = try FakeHost()
        _ = try create(host)
        #expect(try host.manager.check().isEmpty)
        try host.handle.setSysctl("net/ipv4/ip_forward", to: "0")
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == ["sysctl net.ipv4.ip_forward: 0: the host forwards nothing to or from Berth's networks"])
        #expect(problems.map(\.repair) == [.reconcile])
        let report = try host.manager.reconcile()
        #expect(report.restored == problems && report.warnings == [HostWarning(.ipv4ForwardingEnabled)])
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "1")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("the first dual-stack network turns IPv6 forwarding on and says so; off again, a check problem reconcile repairs (with the warning); an internal network needs no forwarding")
    func ipv6ForwardingOff() throws {
        let host = try FakeHost()
        host.kernel.presetSysctl("net/ipv4/ip_forward", "1")
        #expect(try create(host, ipv6: true) == [HostWarning(.ipv6ForwardingEnabled)])
        #expect(HostWarning(.ipv6ForwardingEnabled).description == "IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1, it was 0): "
                + "this host now routes IPv6 packets between all its interfaces, not only for Berth's bridges "
                + "(Berth's table filters only what enters or leaves its bridges)")
        #expect(try create(host, "db", subnet: "10.89.0.0/24", ipv6: true).isEmpty, "on already: nothing to say")
        try host.handle.setSysctl("net/ipv6/conf/all/forwarding", to: "0")
        #expect(try host.manager.check().map(\.description) == ["sysctl net.ipv6.conf.all.forwarding: 0: the host forwards nothing to or from Berth's networks"])
        let report = try host.manager.reconcile()
        #expect(report.restored.count == 1 && report.warnings == [HostWarning(.ipv6ForwardingEnabled)])
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "1")

        let internalOnly = try FakeHost()
        _ = try create(internalOnly, isInternal: true)
        try internalOnly.handle.setSysctl("net/ipv4/ip_forward", to: "0")
        #expect(try internalOnly.manager.check().isEmpty)
    }

    @Test("an internal network, IPv4 or dual stack, turns no forwarding on and warns of none")
    func internalTurnsNothingOn() throws {
        let host = try FakeHost()
        #expect(try create(host, isInternal: true).isEmpty)
        #expect(try create(host, "db", subnet: "10.89.0.0/24", ipv6: true, isInternal: true).isEmpty)
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "0")
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "0")
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("forwarding") || $0.contains("ip_forward") })
        // An attach (which makes sure the bridge is ready) turns none on either.
        try host.attach("ctr1", to: "web")
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "0")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a create that fails after turning forwarding on turns it off again; forwarding that was on stays on",
          arguments: ["network.firewall", "state.commit"])
    func failedCreateRestoresForwarding(_ step: String) throws {
        let host = try FakeHost()
        host.arm(step)
        _ = refusal { _ = try create(host, ipv6: true) }
        host.disarm()
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "0")
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "0")
        #expect(try host.manager.networks().isEmpty)

        let on = try FakeHost()
        on.kernel.presetSysctl("net/ipv4/ip_forward", "1")
        on.kernel.presetSysctl("net/ipv6/conf/all/forwarding", "1")
        on.arm(step)
        _ = refusal { _ = try create(on, ipv6: true) }
        on.disarm()
        #expect(try on.handle.sysctl("net/ipv4/ip_forward") == "1")
        #expect(try on.handle.sysctl("net/ipv6/conf/all/forwarding") == "1")
    }

    @Test("a failed create leaves forwarding on while another state directory's create has made its bridge (its rules not yet in place)")
    func failedCreateSparesAnotherCreate() throws {
        let host = try FakeHost()
        // Another instance's network, half made: its bridge, tagged, and no rule yet.
        host.kernel.addLink("brother", kind: "bridge", up: true, alias: "berth-network other @0dd1ce00")
        host.arm("network.firewall")
        _ = refusal { _ = try create(host) }
        host.disarm()
        #expect(try host.handle.sysctl("net/ipv4/ip_forward") == "1")
    }

    @Test("Docker's FORWARD policy drop: a warning at create naming the chain and the bridge, a check problem with its repair, nothing changed in that table")
    func dockerForwardDrop() throws {
        let host = try FakeHost()
        host.kernel.presetSysctl("net/ipv4/ip_forward", "1")
        try addDockerFilter(host)
        let drop = ForwardDrop(family: "ip", table: "filter", chain: "FORWARD", owner: .docker, bridges: ["brweb"])
        #expect(try create(host) == [HostWarning(.forwardDropped(drop))])
        #expect(HostWarning(.forwardDropped(drop)).description.hasPrefix("chain FORWARD of table ip filter (hook forward, policy drop) drops what Berth forwards through bridge brweb: "))
        let before = try #require(try host.nftables.list(table: Table(.ip, "filter")))
        host.nftables.resetCounts()
        let problems = try host.manager.check()
        #expect(problems.map(\.repair) == [.allowInForeignFirewall(drop)])
        #expect(problems.first?.description.hasPrefix("chain FORWARD of table ip filter: policy drop on the forward hook: drops what Berth forwards through brweb") == true)
        // One chain dump, and that table's rules; never the whole ruleset.
        #expect(host.nftables.chainReads == 1 && host.nftables.rulesetReads == 0)
        #expect(try host.manager.reconcile().warnings == [HostWarning(.forwardDropped(drop))])
        #expect(try host.nftables.list(table: Table(.ip, "filter")) == before)
    }

    @Test("a drop chain whose table names the bridge (the user let it through) is quiet; so is an accept policy, an ip6 table for an IPv4 network, an internal network")
    func quietDrops() throws {
        let allowed = try FakeHost()
        try addDockerFilter(allowed)
        var transaction = Transaction()
        transaction.add(.rule(Table(.ip, "filter").rule(in: "DOCKER-USER", [.iifname("brweb"), .accept])))
        try allowed.nftables.apply(transaction)
        #expect(try create(allowed).filter { $0 != HostWarning(.ipv4ForwardingEnabled) }.isEmpty)
        #expect(try allowed.manager.check().isEmpty)

        let accepting = try FakeHost()
        try addDockerFilter(accepting, policy: .accept)
        #expect(try create(accepting) == [HostWarning(.ipv4ForwardingEnabled)])

        let ipv6Table = try FakeHost()
        try addDockerFilter(ipv6Table, family: .ip6)
        #expect(try create(ipv6Table) == [HostWarning(.ipv4ForwardingEnabled)])
        #expect(try ipv6Table.manager.check().isEmpty)

        let internalOnly = try FakeHost()
        try addDockerFilter(internalOnly)
        #expect(try create(internalOnly, isInternal: true).isEmpty)
        #expect(try internalOnly.manager.check().isEmpty)
    }
}
