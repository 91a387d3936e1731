import BerthCore
import BerthFakes
import BerthNetwork
import BerthNFTables
import Testing

/// Berth's table is shared and may be someone else's: a chain or map of Berth's name that is
/// not as Berth makes it is reported and never adopted, and a table holding anything Berth
/// did not make is never deleted.
@Suite("firewall layout of a table Berth did not make (fake kernel)")
struct FirewallLayoutPolicyTests {
    @Test("a table called berth whose chains are not hooked as Berth's is refused by network create, and left as it is")
    func foreignTableRefused() throws {
        let host = try FakeHost()
        var theirs = Transaction()
        theirs.add(.table(FirewallLayout.table))
        theirs.add(.chain(FirewallLayout.table.chain("prerouting", BaseChain(type: .filter, hook: .input, priority: .filter))))
        try host.nftables.apply(theirs)
        let before = host.nftables.ruleset
        let error = refusal { try host.network() }
        expect(error, .conflict, ["nftables table ip berth is not Berth's layout",
                                  "chain prerouting is 'type filter hook input priority filter; policy accept;', not 'type nat hook prerouting priority dstnat; policy accept;'"])
        #expect(host.nftables.ruleset == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("check and reconcile report a chain or map of Berth's table that is not as Berth makes it, and leave it")
    func foreignObjectReported() throws {
        let host = try FakeHost()
        try host.network()
        // The forward chain (empty: the network is not internal) made again with policy drop.
        var edit = Transaction()
        edit.delete(.chain(FirewallLayout.forward))
        edit.add(.chain(FirewallLayout.table.chain("forward", BaseChain(type: .filter, hook: .forward, priority: .filter, policy: .drop))))
        try host.nftables.apply(edit)
        let expected = "chain forward is 'type filter hook forward priority filter; policy drop;', not 'type filter hook forward priority filter; policy accept;': not Berth's layout"
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == [expected])
        #expect(problems.map(\.repair) == [.replaceForeignTable])
        let before = host.nftables.ruleset
        let report = try host.manager.reconcile()
        #expect(report.remaining.map(\.description) == [expected] && report.restored.isEmpty)
        #expect(host.nftables.ruleset == before)
    }

    @Test("a failed first network create leaves the table when another program added a chain of its own to it meanwhile")
    func failedCreateLeavesForeignChain() throws {
        let host = try FakeHost()
        host.arm("network.firewall")
        host.nftables.beforeApplyDelay = 1
        host.nftables.beforeNextApply = {
            var theirs = Transaction()
            theirs.add(.chain(FirewallLayout.table.chain("mine")))
            try? host.nftables.backend.apply(theirs)
        }
        #expect(throws: BerthError.self) { try host.network() }
        let ruleset = host.nftables.ruleset
        #expect(ruleset.contains("chain mine") && !ruleset.contains("berth-network web"), "\(ruleset)")
    }
}
