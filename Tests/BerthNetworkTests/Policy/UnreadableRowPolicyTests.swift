import BerthCore
import BerthFakes
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
}
