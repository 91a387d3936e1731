import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// `NetworkManager.pruneNetworks` against the fake kernel.
@Suite("network prune (fake kernel)")
struct NetworkPrunePolicyTests {
    @Test("prune removes every network without endpoints but the default one and those kept, and names them")
    func prune() throws {
        let host = try FakeHost()
        try host.manager.ensureNetwork(named: KernelNames.defaultNetwork)
        try host.network("web", subnet: "10.88.0.0/24")
        try host.network("db", subnet: "10.89.0.0/24")
        try host.network("kept", subnet: "10.90.0.0/24")
        try host.network("idle", subnet: "10.91.0.0/24")
        try host.attach("ctr1", to: "db", id: "e1")
        let report = try host.manager.pruneNetworks(keeping: ["kept"])
        #expect(report.removed == ["idle", "web"])
        #expect(report.failures.isEmpty)
        #expect(try host.manager.networks().map(\.name) == [KernelNames.defaultNetwork, "db", "kept"])
        #expect(host.kernel.link("brweb") == nil && host.kernel.link("bridle") == nil && host.kernel.link("brdb") != nil)
        #expect(try host.manager.pruneNetworks(keeping: ["kept"]).removed.isEmpty)
    }
}
