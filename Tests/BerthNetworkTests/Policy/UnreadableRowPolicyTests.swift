import BerthCore
import BerthFakes
import BerthNFTables
@testable import BerthNetwork
import Testing

/// An endpoint row changed outside Berth, which the state cannot decode: one endpoint's
/// problem, not the whole store's.
@Suite("Unreadable endpoint rows (fake kernel)")
struct UnreadableRowPolicyTests {
    @Test("an endpoint row whose MAC does not parse: gc and check report it instead of failing, and detach removes it with its veth pair and elements")
    func unreadableMAC() throws {
        let host = try FakeHost()
        try host.network()
        let endpoint = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        try host.attach("ctr2", id: "e2")
        try host.manager.store.write { tx throws(BerthError) in _ = try tx.db().execute("UPDATE endpoints SET mac = 'zz' WHERE id = 'e1'") }

        // gc keeps it whole, says why, and collects the rest.
        let report = try host.manager.gc()
        #expect(report.failed.count == 1 && report.failed.first?.owner == .endpoint && report.failed.first?.id == "e1" && report.failed.first?.error.code == .state, "\(report)")
        #expect(host.kernel.link(endpoint.hostVeth.rawValue) != nil)
        #expect(host.nftables.ruleset.contains("berth-endpoint e1"))
        let problems = try host.manager.check()
        #expect(problems.contains { $0.endpoint == "e1" && $0.object == "record" && $0.problem.contains("MAC") && $0.repair == .reattach }, "\(problems)")

        // Detach forgets it and removes what it had, by its tag.
        #expect(try host.manager.detach(id: "e1"))
        #expect(host.kernel.link(endpoint.hostVeth.rawValue) == nil)
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"), "\(host.nftables.ruleset)")
        #expect(try host.manager.endpoints().map(\.id) == ["e2"])
        #expect(try host.manager.gc().failed.isEmpty)
        // Its port is free again.
        let again = try host.attach("ctr3", id: "e3", ports: ["8080:80"])
        #expect(again.ports.map(\.hostPort) == [8080])
    }

    /// e1 (publishing 8080) with a MAC that does not parse, e2 readable (publishing 9090).
    private func corrupted() throws -> (FakeHost, EndpointRecord, EndpointRecord) {
        let host = try FakeHost()
        try host.network()
        let e1 = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        let e2 = try host.attach("ctr2", id: "e2", ports: ["9090:80"])
        try host.manager.store.write { tx throws(BerthError) in _ = try tx.db().execute("UPDATE endpoints SET mac = 'zz' WHERE id = 'e1'") }
        return (host, e1, e2)
    }

    @Test("reconcile repairs the readable endpoints beside an unreadable row, reports it, and leaves what it has in the kernel")
    func reconcile() throws {
        let (host, e1, e2) = try corrupted()
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try host.nftables.apply(flush)

        let report = try host.manager.reconcile()
        #expect(report.remaining.contains { $0.endpoint == "e1" && $0.object == "record" && $0.problem.contains("MAC") }, "\(report)")
        #expect(host.nftables.ruleset.contains("berth-endpoint e2"), "\(host.nftables.ruleset)")
        #expect(host.kernel.link(e1.hostVeth.rawValue) != nil && host.kernel.link(e2.hostVeth.rawValue) != nil)
    }

    @Test("a network with only an unreadable row attached is refused as attached, naming it, not as a broken store")
    func removeNetwork() throws {
        let (host, _, _) = try corrupted()
        #expect(try host.manager.detach(id: "e2"))
        expect(refusal { try host.manager.removeNetwork(named: "web") }, .conflict, ["1 endpoint attached", "e1"])
        #expect(try host.manager.detach(id: "e1"))
        try host.manager.removeNetwork(named: "web")
        #expect(host.kernel.link("brweb") == nil)
    }

    @Test("pruneEndpoints removes the readable endpoints it is asked to and keeps an unreadable row whole, reporting it")
    func prune() throws {
        let (host, e1, e2) = try corrupted()
        let report = try host.manager.pruneEndpoints(network: "web", keeping: [])
        #expect(report.endpoints == ["e2"], "\(report)")
        #expect(report.failed.map(\.id) == ["e1"] && report.failed.first?.error.code == .state, "\(report)")
        #expect(host.kernel.link(e2.hostVeth.rawValue) == nil && !host.nftables.ruleset.contains("berth-endpoint e2"))
        // Kept: its veth and its element (the leftover sweep knows it is recorded).
        #expect(host.kernel.link(e1.hostVeth.rawValue) != nil)
        #expect(host.nftables.ruleset.contains("berth-endpoint e1"), "\(host.nftables.ruleset)")
        // Kept by the caller: not reported.
        #expect(try host.manager.pruneEndpoints(network: "web", keeping: ["e1"]).failed.isEmpty)
        // A publications' prune (berth-cni's GC of chained attachments) sweeps leftovers of
        // unknown ids only: the unreadable row's element stays.
        #expect(try host.manager.prunePublications(group: "g", keeping: []).firewallObjects.isEmpty)
        #expect(host.nftables.ruleset.contains("berth-endpoint e1"), "\(host.nftables.ruleset)")
    }
}
