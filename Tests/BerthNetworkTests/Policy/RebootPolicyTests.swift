import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// A reboot against the fake kernel: the state survives, every kernel object goes (a new
/// fake kernel in another boot). The first transaction of a manager on the new boot forgets
/// the endpoints, publications and resolver of the earlier one, keeps the networks, and
/// frees their addresses and host ports; on the same boot nothing is forgotten.
@Suite("reboot policy (fake kernel)")
struct RebootPolicyTests {
    private static let secondBoot = "0f4ce000-0000-4000-8000-000000000002"

    /// A host with network web, endpoint e1 (10.88.0.5, 8080:80), publication pub1 (9090:90
    /// to 10.66.0.2 behind extbr0, made by "another program") and a recorded resolver.
    private func usedHost() throws -> FakeHost {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr1", id: "e1", address: "10.88.0.5", ports: ["8080:80"])
        try wire(host.kernel)
        try host.manager.publish(PublicationOptions(
            id: "pub1", group: "ext", address: try IPv4Address(parsing: "10.66.0.2"), namespace: .name("ext1"),
            hostLink: try InterfaceName("extbr0"), ports: [try PortSpec(parsing: "9090:90")]))
        try host.manager.store.write { tx throws(BerthError) in try tx.setResolver(ResolverProcess(pid: 4242, startTime: 99)) }
        return host
    }

    /// What "another program" wires for a publication: bridge extbr0 and namespace ext1.
    private func wire(_ kernel: FakeKernel) throws {
        kernel.addLink("extbr0", kind: "bridge", up: true)
        try kernel.addAddress("10.66.0.1/24", to: "extbr0")
        kernel.addNamespace("ext1", loopbackUp: true)
    }

    /// A new manager on `host`'s state directory, as the first process after a reboot has:
    /// a new kernel, in another boot, holding nothing of the old one.
    private func rebooted(_ host: FakeHost) throws -> (FakeKernel, NetworkManager) {
        let kernel = FakeKernel()
        kernel.boot = Self.secondBoot
        let handle = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        return (kernel, NetworkManager(store: try StateStore(directory: host.stateDirectory), host: handle))
    }

    private func attach(_ manager: NetworkManager, _ kernel: FakeKernel, _ namespace: String, id: String, address: String,
                        ports: [String]) throws -> EndpointRecord {
        kernel.addNamespace(namespace)
        return try manager.attach(AttachOptions(
            network: "web", namespace: .name(namespace), id: id, address: try IPv4Address(parsing: address),
            ports: try ports.map { try PortSpec(parsing: $0) }))
    }

    @Test("after a reboot, an attach of another id with the same address and ports succeeds: the earlier boot's endpoint, publication and resolver are forgotten, the network kept and its bridge made again")
    func attachAfterReboot() throws {
        let host = try usedHost()
        let (kernel, manager) = try rebooted(host)
        let endpoint = try attach(manager, kernel, "ctr2", id: "e2", address: "10.88.0.5", ports: ["8080:80", "9090:90"])
        #expect(endpoint.addresses.map(\.description) == ["10.88.0.5"])
        #expect(endpoint.ports.map(\.description) == ["tcp 0.0.0.0:8080->80", "tcp 0.0.0.0:9090->90"])
        #expect(try manager.endpoints().map(\.id) == ["e2"])
        #expect(try manager.publications().isEmpty)
        #expect(try manager.networks().map(\.name) == ["web"])
        #expect(try manager.store.read { tx throws(BerthError) in try tx.recordedBoot() } == Self.secondBoot)
        // web has DNS: the earlier boot's resolver was forgotten, not signalled, and a new one started.
        #expect(kernel.resolvers.launches.count == 1)
        #expect(!kernel.resolvers.signals.contains { $0.hasSuffix(" 4242") }, "\(kernel.resolvers.signals)")
        let resolver = try #require(try manager.store.read { tx throws(BerthError) in try tx.resolver() })
        #expect(resolver != ResolverProcess(pid: 4242, startTime: 99))
        // The kernel side is the new boot's alone: the bridge made again, e2's elements.
        #expect(kernel.links().contains { $0.name == "brweb" })
        #expect(kernel.nftables().ruleset.contains("berth-endpoint e2 @\(FakeHost.instance)"))
        #expect(!kernel.nftables().ruleset.contains("e1") && !kernel.nftables().ruleset.contains("pub1"))
        // Nothing was asked of the kernel about the forgotten records (all gone with the boot).
        #expect(!kernel.requests.contains { $0.namespace != "host" && $0.namespace != "ctr2" })
    }

    @Test("after a reboot, a read (ps, check) before any write forgets too: no earlier boot's endpoint or publication is listed or checked; networks stay")
    func readAfterReboot() throws {
        let host = try usedHost()
        let (_, manager) = try rebooted(host)
        #expect(try manager.endpoints().isEmpty)
        #expect(try manager.publications().isEmpty)
        #expect(try manager.networks().map(\.name) == ["web"])
        #expect(try manager.store.read { tx throws(BerthError) in try tx.recordedBoot() } == Self.secondBoot)
        #expect(try manager.store.read { tx throws(BerthError) in try tx.resolver() } == nil)
        let problems = try manager.check()
        #expect(!problems.contains { "\($0)".contains("e1") || "\($0)".contains("pub1") }, "\(problems)")
        #expect(problems.contains { "\($0)".contains("brweb") }, "the network's missing bridge is still named: \(problems)")
    }

    @Test("a first write that fails after a reboot keeps the forget")
    func failedWriteAfterReboot() throws {
        let host = try usedHost()
        let (kernel, manager) = try rebooted(host)
        kernel.addNamespace("ctr2")
        let error = refusal {
            try manager.attach(AttachOptions(network: "nosuch", namespace: .name("ctr2"), id: "e2", ports: [try PortSpec(parsing: "8080:80")]))
        }
        expect(error, .notFound, ["nosuch"])
        let check = try StateStore(directory: host.stateDirectory)
        #expect(try check.read { tx throws(BerthError) in try tx.endpoints() }.isEmpty)
        #expect(try check.read { tx throws(BerthError) in try tx.publications() }.isEmpty)
        #expect(try check.read { tx throws(BerthError) in try tx.recordedBoot() } == Self.secondBoot)
    }

    @Test("on the same boot a new manager forgets nothing: the port and address stay e1's")
    func sameBoot() throws {
        let host = try usedHost()
        let manager = try host.secondManager()
        host.kernel.addNamespace("ctr2")
        let error = refusal {
            try manager.attach(AttachOptions(network: "web", namespace: .name("ctr2"), id: "e2", ports: [try PortSpec(parsing: "8080:80")]))
        }
        expect(error, .conflict, ["8080", "e1"])
        #expect(try manager.endpoints().map(\.id) == ["e1"])
        #expect(try manager.publications().map(\.id) == ["pub1"])
        #expect(try manager.store.read { tx throws(BerthError) in try tx.resolver() } == ResolverProcess(pid: 4242, startTime: 99))
    }

    @Test("a store whose boot is NULL (just upgraded on a running system) takes the current boot and keeps everything")
    func upgradedStore() throws {
        let host = try usedHost()
        try host.manager.store.write { tx throws(BerthError) in _ = try tx.db().execute("UPDATE instance SET boot = NULL") }
        let manager = try host.secondManager()
        #expect(try manager.endpoints().map(\.id) == ["e1"])
        #expect(try manager.publications().map(\.id) == ["pub1"])
        #expect(try manager.store.read { tx throws(BerthError) in try tx.resolver() } == ResolverProcess(pid: 4242, startTime: 99))
        #expect(try manager.store.read { tx throws(BerthError) in try tx.recordedBoot() } == FakeKernel.firstBoot)
        host.kernel.addNamespace("ctr2")
        let error = refusal {
            try manager.attach(AttachOptions(network: "web", namespace: .name("ctr2"), id: "e2", ports: [try PortSpec(parsing: "8080:80")]))
        }
        expect(error, .conflict, ["8080", "e1"])
    }
}
