import BerthCore
import BerthFakes
import BerthNetwork
import BerthNFTables
import Testing

/// Two instances (state directories) sharing Berth's table on one fake kernel: an instance
/// removes only its own rules and elements, even when the other took a key or a rule
/// handle its state still names, or changed the table between its read and its batch.
@Suite("firewall ownership across instances (fake kernel)")
struct FirewallOwnershipPolicyTests {
    /// Deletes the element of `publish_any` tagged `comment`, as `nft delete element` would.
    private func deleteElement(tagged comment: String, in host: FakeHost) throws {
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        let element = try #require(table.sets.first { $0.set.name == "publish_any" }?.elements.first { $0.comment == comment })
        var cut = Transaction()
        cut.delete(.element(element, in: FirewallLayout.publishAny))
        try host.nftables.backend.apply(cut)
    }

    @Test("a detach leaves a key another instance took after this endpoint's element was deleted by hand")
    func detachLeavesOthersKey() throws {
        let (a, b) = try twoInstances(bPublishes: false)
        try deleteElement(tagged: "berth-endpoint e1 @f4ce0001", in: a)
        try b.attach("ctr2", id: "b1", ports: ["8080:80"])
        #expect(try a.manager.check().map(\.endpoint).contains("e1"))
        try a.manager.detach(id: "e1")
        #expect(a.nftables.ruleset.contains("tcp . 8080 comment \"berth-endpoint b1 @0dd1ce00\""), "\(a.nftables.ruleset)")
        #expect(try b.manager.check().isEmpty)
    }

    @Test("a detach whose element is replaced by another instance's between its read and its batch plans again and leaves it")
    func detachRace() throws {
        let (a, b) = try twoInstances(bPublishes: false)
        // Between A's read of its keys and A's batch: e1's element goes, B publishes 8080.
        a.nftables.beforeNextApply = {
            try? deleteElement(tagged: "berth-endpoint e1 @f4ce0001", in: a)
            _ = try? b.attach("ctr2", id: "b1", ports: ["8080:80"])
        }
        try a.manager.detach(id: "e1")
        #expect(try b.manager.endpoints().map(\.id) == ["b1"])
        #expect(a.nftables.ruleset.contains("tcp . 8080 comment \"berth-endpoint b1 @0dd1ce00\""), "\(a.nftables.ruleset)")
        #expect(try b.manager.check().isEmpty)
    }

    @Test("a detach reads only its own keys, not the maps")
    func detachReadsKeys() throws {
        let (a, _) = try twoInstances(bPublishes: false)
        a.nftables.resetCounts()
        try a.manager.detach(id: "e1")
        #expect(a.nftables.elementReads == 1 && a.nftables.tableReads == 0 && a.nftables.rulesetReads == 0)
        #expect(!a.nftables.ruleset.contains("berth-endpoint e1"))
    }

    @Test("a failed first network create leaves the rules another instance added to the table between its read and its delete")
    func failedCreateRace() throws {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        a.arm("network.firewall")
        // After A's batch that made the table, before the rollback's delete of it.
        a.nftables.beforeApplyDelay = 1
        a.nftables.beforeNextApply = { _ = try? b.network(subnet: "10.89.0.0/24", bridge: "brwebb") }
        #expect(throws: BerthError.self) { try a.network() }
        let ruleset = a.nftables.ruleset
        #expect(ruleset.contains("berth-network web @0dd1ce00") && !ruleset.contains("@f4ce0001"), "\(ruleset)")
        #expect(try b.manager.check().isEmpty)
    }

    @Test("network rm does not delete another instance's rule that reuses a handle it read (the table made again between)")
    func removeNetworkHandleReuse() throws {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        try a.network()
        // Between A's read of its rules and A's batch: the table is flushed and B's first
        // network makes it again, its rules numbered as A's were.
        a.nftables.beforeNextApply = {
            var flush = Transaction()
            flush.delete(.table(FirewallLayout.table))
            try? a.nftables.backend.apply(flush)
            _ = try? b.network(subnet: "10.89.0.0/24", bridge: "brwebb")
        }
        try a.manager.removeNetwork(named: "web")
        #expect(a.nftables.ruleset.components(separatedBy: "berth-network web @0dd1ce00").count == 4, "\(a.nftables.ruleset)")
        #expect(try b.manager.check().isEmpty)
    }

    @Test("reconcile after a flush plans again when another instance made the table between its read and its batch")
    func reconcileRace() throws {
        let (a, b) = try twoInstances(bPublishes: false)
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try a.nftables.apply(flush)
        a.nftables.beforeNextApply = { _ = try? b.manager.reconcile() }
        let report = try a.manager.reconcile()
        #expect(report.remaining.isEmpty, "\(report.remaining)")
        let ruleset = a.nftables.ruleset
        #expect(ruleset.components(separatedBy: "loopback only from lo").count == 3, "\(ruleset)")
        #expect(ruleset.contains("berth-endpoint e1 @f4ce0001") && ruleset.contains("berth-network web @0dd1ce00"))
        #expect(try a.manager.check().isEmpty && b.manager.check().isEmpty)
    }
}
