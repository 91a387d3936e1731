import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing
@testable import BerthCNI

/// An ADD whose network was left marked (`NetworkRecord.Phase`) by a create or removal that
/// never finished, against the fake kernel: the next ADD finishes it and makes it anew from
/// its configuration, as `berth run` does the default network, and STATUS says an ADD could
/// succeed.
@Suite("CNI ADD on an unfinished network (fake kernel)")
struct CNIUnfinishedNetworkTests {
    private static func options() throws -> NetworkOptions {
        NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"), bridge: try InterfaceName("brweb"))
    }

    /// The ADD of container `container` (a namespace of that name) as `BerthBackend.attach`
    /// runs it for a main plugin without ports.
    private func add(_ backend: BerthBackend, _ container: String) throws -> EndpointDescription {
        try backend.attach(network: try Self.options(), log: CNILog(), namespace: .name(container),
                           id: CNIAttachment.endpointID(containerID: container, ifname: "eth0"), address: nil, mac: nil,
                           ifname: try InterfaceName("eth0"), ports: [])
    }

    @Test("the first ADD, stopped while it made the network and its undo refused (as when killed), leaves it marked; the next ADD finishes it, makes it anew and attaches; STATUS says ready meanwhile")
    func addAfterInterruptedCreate() throws {
        let host = try FakeHost()
        host.kernel.addNamespace("c1", loopbackUp: true)
        host.kernel.addNamespace("c2", loopbackUp: true)
        let backend = BerthBackend(manager: host.manager)
        // The create stops after its rules; its own removal stops too, so the mark stays
        // with the bridge and what the create made, as a kill there leaves them.
        host.arm("network.firewall")
        host.arm("network.rm.firewall")
        #expect(throws: CNIError.self) { try add(backend, "c1") }
        host.disarm()
        #expect(try host.manager.network(named: "web").phase == .creating)
        // An ADD could succeed: STATUS judges the create it would make.
        #expect(try backend.blockers(try Self.options()).isEmpty)

        let attached = try add(backend, "c2")
        #expect(attached.network.phase == .ready && attached.network.subnet?.description == "10.88.0.0/24")
        #expect(attached.endpoint.address?.description == "10.88.0.2")
        #expect(try host.manager.network(named: "web").phase == .ready)
        #expect(host.kernel.link("brweb")?.isUp == true)
        #expect(try host.manager.endpoints().map(\.id) == [CNIAttachment.endpointID(containerID: "c2", ifname: "eth0")])
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a network whose removal was interrupted is finished and made anew by the next ADD from its configuration")
    func addAfterInterruptedRemoval() throws {
        let host = try FakeHost()
        host.kernel.addNamespace("c1", loopbackUp: true)
        let backend = BerthBackend(manager: host.manager)
        try host.manager.createNetwork(try Self.options())
        host.arm("network.rm.firewall")
        #expect(throws: BerthError.self) { try host.manager.removeNetwork(named: "web") }
        host.disarm()
        #expect(try host.manager.network(named: "web").phase == .removing)
        #expect(try backend.blockers(try Self.options()).isEmpty)

        let attached = try add(backend, "c1")
        #expect(attached.network.phase == .ready && attached.endpoint.address?.description == "10.88.0.2")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a ready network's conflicts are not taken for an unfinished one's: a mismatching configuration is still refused (code 7), the network untouched")
    func readyMismatchStands() throws {
        let host = try FakeHost()
        host.kernel.addNamespace("c1", loopbackUp: true)
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.89.0.0/24"), bridge: try InterfaceName("brweb")))
        let before = try host.manager.network(named: "web")
        let error = #expect(throws: CNIError.self) { try add(BerthBackend(manager: host.manager), "c1") }
        #expect(error?.code == .invalidConfig, "\(String(describing: error))")
        #expect(try host.manager.network(named: "web") == before)
    }
}
