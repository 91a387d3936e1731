import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// A network's phase (`NetworkRecord.Phase`) against the fake kernel: a removal commits its
/// mark before it touches the kernel, a create commits its record marked before it does,
/// and what a failure or a crash leaves marked is refused to attaches and finished by `gc`,
/// a removal or a create of the same name.
@Suite("network lifecycle (fake kernel)")
struct NetworkLifecyclePolicyTests {
    /// A network `web` on the bridge `lanbr`, which Berth did not make, committed as a create
    /// interrupted after the gateway address: the record marked as creating, the address on
    /// the bridge, the rules in place.
    private func interruptedCreateOnExistingBridge() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lanbr", kind: "bridge", up: true)
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"),
                                                      gateway: try IPv4Address(parsing: "10.88.0.1"), bridge: try InterfaceName("lanbr"), usesExistingBridge: true))
        try host.manager.store.write { tx throws(BerthError) in try tx.setPhase(.creating, network: "web") }
        #expect(host.kernel.addresses().contains("10.88.0.1/24 dev lanbr"))
        return host
    }

    @Test("a removal failing after any step leaves the network marked as removing; nothing attaches to it; gc finishes it",
          arguments: ["network.rm.firewall", "network.rm.bridge", "network.rm.forget"])
    func removalLeavesItsMark(point: String) throws {
        let host = try FakeHost()
        try host.network()
        host.kernel.addNamespace("ctr1", loopbackUp: true)
        host.arm(point)
        expect(refusal { try host.manager.removeNetwork(named: "web") }, .internalError, ["fail point \(point) reached"])
        host.disarm()
        #expect(try host.manager.network(named: "web").phase == .removing)

        let refused = refusal { try host.attach("ctr1", id: "e1") }
        expect(refused, .conflict, ["network web is not ready: its removal was interrupted"], remedy: .collectGarbage)
        #expect(refused?.operation == .attach)
        #expect(try host.recorded().isEmpty)
        #expect(try host.manager.attachBlockers(network: "web").contains { $0.remedy == .collectGarbage })
        #expect(try host.manager.check().map(\.description).contains("network web: removal: interrupted"))
        // reconcile never puts a half-removed network back.
        let reconciled = try host.manager.reconcile()
        #expect(reconciled.remaining.map(\.description) == ["network web: removal: interrupted"])
        #expect(point == "network.rm.firewall" ? host.kernel.link("brweb") != nil : host.kernel.link("brweb") == nil)
        #expect(!host.nftables.ruleset.contains("berth-network web"))

        let report = try host.manager.gc()
        #expect(report.networks == ["web"])
        #expect(try host.manager.networks().isEmpty)
        #expect(host.kernel.link("brweb") == nil)
        #expect(!host.nftables.ruleset.contains("berth-network web"))
        #expect(try host.manager.gc().isEmpty)
        try host.network()
        #expect(try host.attach("ctr1", id: "e1").address?.description == "10.88.0.2")
    }

    @Test("a removal interrupted after its mark is finished by network rm again")
    func removalRetried() throws {
        let host = try FakeHost()
        try host.network()
        host.arm("network.rm.firewall")
        _ = refusal { try host.manager.removeNetwork(named: "web") }
        host.disarm()
        try host.manager.removeNetwork(named: "web")
        #expect(try host.manager.networks().isEmpty)
        #expect(host.kernel.link("brweb") == nil)
    }

    @Test("a create failing after any step forgets its marked record and takes back what it made",
          arguments: ["network.bridge", "network.address", "network.firewall"])
    func createFailureForgets(point: String) throws {
        let host = try FakeHost()
        host.kernel.addLink("lanbr", kind: "bridge", up: true)
        host.arm(point)
        let error = refusal {
            try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"),
                                                          gateway: try IPv4Address(parsing: "10.88.0.1"), bridge: try InterfaceName("lanbr"), usesExistingBridge: true))
        }
        expect(error, .internalError, ["fail point \(point) reached"])
        #expect(!host.kernel.addresses().contains("10.88.0.1/24 dev lanbr"))
        #expect(!host.nftables.ruleset.contains("berth-network web"))
        #expect(try host.manager.networks().isEmpty)
        host.disarm()
        #expect(try host.manager.gc().networks.isEmpty)
    }

    @Test("a create whose final COMMIT fails takes back what it made, as a failing step does")
    func createCommitFails() throws {
        let host = try FakeHost()
        host.arm("state.commit")
        expect(refusal { try host.network() }, .internalError, ["fail point state.commit reached"])
        host.disarm()
        #expect(host.kernel.link("brweb") == nil)
        #expect(!host.nftables.ruleset.contains("berth-network web"))
        #expect(try host.manager.networks().isEmpty)
        // Only the table's skeleton is left (a removal leaves it), which a full gc takes.
        let gc = try host.manager.gc()
        #expect(gc.endpoints.isEmpty && gc.networks.isEmpty && gc.links.isEmpty && gc.firewallObjects == ["table ip berth"], "\(gc)")
        try host.network()
        #expect(try host.manager.network(named: "web").phase == .ready)
    }

    @Test("a bridge of this instance tagged with a network the state does not know (a leftover) is taken by a create of its name, and tagged anew")
    func leftoverBridgeTaken() throws {
        let host = try FakeHost()
        host.kernel.addLink("brweb", kind: "bridge", up: true, alias: "berth-network old @f4ce0001")
        let leftover = try #require(host.kernel.link("brweb"))
        try host.handle.netlink.addAddress(CIDR(parsing: "10.1.0.1/24"), to: .index(leftover.index))
        let record = try host.network()
        let bridge = try #require(host.kernel.link("brweb"))
        // Made anew: the forgotten network's gateway address is not this one's.
        #expect(bridge.index != leftover.index)
        #expect(!host.kernel.addresses().contains("10.1.0.1/24 dev brweb"), "\(host.kernel.addresses())")
        #expect(bridge.alias == "berth-network web @f4ce0001")
        #expect(bridge.mac == record.bridgeMAC && bridge.isUp)
        #expect(host.kernel.addresses().contains("10.88.0.1/24 dev brweb"))
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.gc().isEmpty)
        try host.attach("ctr1", id: "e1")
        try host.manager.detach(id: "e1")
        try host.manager.removeNetwork(named: "web")
        #expect(host.kernel.link("brweb") == nil)
    }

    @Test("gc finishes a create interrupted on a bridge Berth did not make: the gateway address it added goes, the bridge stays")
    func gcFinishesInterruptedCreate() throws {
        let host = try interruptedCreateOnExistingBridge()
        #expect(try host.manager.check().map(\.description).contains("network web: create: interrupted"))
        let report = try host.manager.gc()
        #expect(report.networks == ["web"])
        #expect(!host.kernel.addresses().contains("10.88.0.1/24 dev lanbr"))
        #expect(host.kernel.link("lanbr") != nil)
        #expect(!host.nftables.ruleset.contains("berth-network web"))
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("a create of the name of an interrupted create finishes it first: the address it added is recorded as added again, and rm takes it")
    func createRetriedFinishesTheMarkedOne() throws {
        let host = try interruptedCreateOnExistingBridge()
        let again = try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"),
                                                                  gateway: try IPv4Address(parsing: "10.88.0.1"), bridge: try InterfaceName("lanbr"), usesExistingBridge: true))
        #expect(again.phase == .ready && again.gatewayAdded)
        #expect(try host.manager.network(named: "web").phase == .ready)
        try host.manager.removeNetwork(named: "web")
        #expect(!host.kernel.addresses().contains("10.88.0.1/24 dev lanbr"))
        #expect(host.kernel.link("lanbr") != nil)
    }

    @Test("a ready network's name is still refused to a create")
    func readyNameRefused() throws {
        let host = try FakeHost()
        try host.network()
        expect(refusal { try host.network() }, .alreadyExists, ["network web already exists"], parameter: "name")
    }

    @Test("the default network, left marked by an interrupted create, is made anew on first use")
    func defaultNetworkRemade() throws {
        let host = try FakeHost()
        try host.manager.ensureNetwork(named: KernelNames.defaultNetwork)
        try host.manager.store.write { tx throws(BerthError) in try tx.setPhase(.creating, network: KernelNames.defaultNetwork) }
        let network = try host.manager.ensureNetwork(named: KernelNames.defaultNetwork)
        #expect(network.phase == .ready)
        #expect(host.kernel.link("berth0")?.isUp == true)
    }
}
