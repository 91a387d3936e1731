import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Testing

/// The subnet-choice lock (`SubnetChoiceLock`): a network create holds it from reading the
/// host's taken subnets until its gateway address is on its bridge, so that another state
/// directory's create cannot pick the same subnet in between.
@Suite("subnet choice lock policy (fake kernel)")
struct SubnetChoicePolicyTests {
    @Test("a create takes the lock before it reads the host's routes and addresses and lets it go only after the gateway address is on the bridge")
    func heldFromReadToGateway() throws {
        let host = try FakeHost()
        let mark = host.kernel.mark
        let network = try host.manager.createNetwork(NetworkOptions(name: "web"))
        let gateway = try #require(network.gateway)
        let subnet = try #require(network.subnet)
        let operations = host.kernel.operationsWithSubnetChoice(since: mark)
        let lock = try #require(operations.firstIndex(of: "host: lock subnet choice"), "\(operations)")
        let unlock = try #require(operations.firstIndex(of: "host: unlock subnet choice"), "\(operations)")
        let routes = try #require(operations.firstIndex { $0.hasPrefix("host: list routes") }, "\(operations)")
        let addresses = try #require(operations.firstIndex { $0.hasPrefix("host: list addresses") }, "\(operations)")
        // The fake names the bridge by its index (`to #2`).
        let added = try #require(operations.firstIndex { $0.hasPrefix("host: add address \(gateway)/\(subnet.prefixLength) to ") }, "\(operations)")
        #expect(lock < routes && lock < addresses && added < unlock, "\(operations)")
        #expect(operations.filter { $0.contains("subnet choice") }.count == 2)
    }

    @Test("a lock another process holds past the timeout refuses the create, leaving nothing behind")
    func heldElsewhere() throws {
        let host = try FakeHost()
        let before = host.kernel.snapshot()
        host.kernel.subnetChoiceHeldElsewhere = true
        let error = refusal { try host.manager.createNetwork(NetworkOptions(name: "web")) }
        expect(error, .conflict, ["waiting for the subnet choice of host namespace host"])
        #expect(error?.operation == .createNetwork)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
        host.kernel.subnetChoiceHeldElsewhere = false
        #expect(try host.manager.createNetwork(NetworkOptions(name: "web")).subnet != nil)
    }

    @Test("a store whose lock budget is spent does not wait for the subnet choice, and the refusal says the budget ran out, not 'after 0.0 seconds' of a timeout")
    func budgetSpent() throws {
        let host = try FakeHost()
        let store = try StateStore(directory: host.stateDirectory, lockTimeout: .seconds(30), totalLockWait: .zero)
        let manager = NetworkManager(store: store, host: host.handle)
        host.kernel.subnetChoiceHeldElsewhere = true
        let error = refusal { try manager.createNetwork(NetworkOptions(name: "web")) }
        #expect(error?.message == "timed out after 0.0 seconds waiting for the subnet choice of host namespace host: this call's lock budget ran out "
                + "(0.0 seconds from the moment it opened Berth's state); another process (another Berth state directory) is creating a network there",
                "\(String(describing: error))")
        #expect(try host.manager.networks().isEmpty)
    }
}
