import BerthCore
import BerthFakes
import BerthNetwork
import BerthNFTables
import Testing

/// A table an earlier Berth made, whose rules the layout has since replaced: the subnet
/// guard without the exemption of `lo` (it dropped the host's own packets to the gateway)
/// and the `publish_addr` lookup without `fib daddr type local` (it captured traffic to an
/// address that had left the host). `check` names each as stale and its successor as
/// missing; `reconcile` swaps them in place, in one batch.
@Suite("rules of an earlier Berth's layout (fake kernel)")
struct EarlierLayoutPolicyTests {
    private static let tag = "berth-network web @f4ce0001"

    /// A dual-stack network with a published port, its tables then turned back into what
    /// the earlier layout made: each replaced rule put where its successor is, the successor
    /// deleted.
    private func earlierHost() throws -> (host: FakeHost, fresh: String) {
        let host = try FakeHost()
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: CIDR("10.88.0.0/24"), bridge: try InterfaceName("brweb"),
                                                      ipv6Subnet: CIDR("fd00:beef::/64")))
        try host.attach("ctr1", id: "e1", ports: ["8080:80", "127.0.0.1:8081:80"])
        let fresh = host.nftables.ruleset
        var downgrade = Transaction()
        for (layoutTable, family) in [(FirewallLayout.table, IPFamily.ipv4), (IPv6FirewallLayout.table, .ipv6)] {
            let table = try #require(try host.nftables.list(table: layoutTable))
            for rule in table.chains.flatMap(\.rules) {
                var old = rule
                old.handle = nil
                old.position = rule.handle
                if rule.chain == "guard", rule.comment == Self.tag {
                    // Without the leading `iifname != "lo"`.
                    old.statements = Array(rule.statements.dropFirst())
                } else if case .dnatMap(_, let key, let map) = rule.statements.last, map == "publish_addr" {
                    old.statements = [.dnatMap(family == .ipv4 ? .ip : .ip6, key: key, map: map)]
                } else {
                    continue
                }
                downgrade.add(.rule(old))
                downgrade.delete(.rule(rule))
            }
        }
        try host.nftables.apply(downgrade)
        return (host, fresh)
    }

    @Test("check names the earlier guard and publish_addr lookups as stale and their successors as missing; reconcile swaps them in place in one batch")
    func replacedInPlace() throws {
        let (host, fresh) = try earlierHost()
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("\t\tip daddr 10.88.0.0/24 iifname != \"brweb\" drop") && ruleset.contains("\t\tdnat ip to ip daddr ."), "\(ruleset)")
        #expect(ruleset != fresh)

        let guard4 = "ip daddr 10.88.0.0/24 iifname != \"brweb\" drop comment \"\(Self.tag)\""
        let guard6 = "ip6 daddr fd00:beef::/64 iifname != \"brweb\" drop comment \"\(Self.tag)\""
        var expected: [String] = []
        for rule in [guard4, guard6] {
            expected.append("network web: rule 'iifname != \"lo\" \(rule)' in chain guard: missing")
            expected.append("network web: rule '\(rule)' in chain guard: stale")
        }
        for (version, field) in [("ip", "ip daddr"), ("ip6", "ip6 daddr")] {
            for chain in ["prerouting", "output"] {
                let lookup = "dnat \(version) to \(field) . meta l4proto . th dport map @publish_addr"
                expected.append("rule 'fib daddr type local \(lookup)' in chain \(chain): missing")
                expected.append("rule '\(lookup)' in chain \(chain): stale")
            }
        }
        let problems = try host.manager.check()
        #expect(problems.map(\.description).sorted() == expected.sorted())
        #expect(problems.allSatisfy { $0.repair == .reconcile })

        let generation = try host.nftables.generation()
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description).sorted() == expected.sorted())
        #expect(report.remaining.isEmpty)
        // One batch, guarded by the generation read before the tables.
        #expect(try host.nftables.generation() == generation &+ 1)
        // Each successor where the rule it replaced was: the tables as a fresh host has them.
        #expect(host.nftables.ruleset == fresh)
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.reconcile().isEmpty)
    }
}
