import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing
@testable import BerthCNI

/// GC's prune (`BerthBackend.prune`) against the fake kernel: it removes what it can, and
/// what it removed reaches the caller even when a later step fails.
@Suite("CNI GC prune (fake kernel)")
struct CNIGCBackendTests {
    /// Network web (10.88.0.0/24) with the CNI attachment c1/eth0 (no ports) and the
    /// publication p1 of group web (ports 8080 to 10.66.0.2 in namespace ext1).
    private func host() throws -> (FakeHost, String) {
        let host = try FakeHost()
        try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"), bridge: try InterfaceName("brweb")))
        host.kernel.addNamespace("ctr1", loopbackUp: true)
        host.kernel.addNamespace("ext1", loopbackUp: true)
        let id = CNIAttachment.endpointID(containerID: "c1", ifname: "eth0")
        try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr1"), id: id, interfaceName: try InterfaceName("eth0")))
        try host.manager.publish(PublicationOptions(id: "p1", group: "web", address: IPv4Address(10, 66, 0, 2), namespace: .name("ext1"),
                                                    ports: [try PortSpec(parsing: "8080:80")]))
        return (host, id)
    }

    @Test("a publication that cannot be removed is kept and its error returned beside the endpoints removed, whose leases GC gives back")
    func publicationFailureKeepsEndpoints() throws {
        let (host, id) = try host()
        // The endpoint has no elements: the first batch is p1's unpublish.
        host.nftables.nextApplyError = BerthError(.kernel, "refused by the test")
        let pruned = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(pruned.endpoints.map(\.id) == [id])
        #expect(pruned.removed == [id])
        #expect(pruned.failure?.message == "publication p1 could not be removed: refused by the test", "\(String(describing: pruned.failure))")
        #expect(pruned.failure?.object == .publication("p1"))
        #expect(try host.manager.endpoints().isEmpty)
        #expect(try host.manager.publications().map(\.id) == ["p1"])
        #expect(host.nftables.ruleset.contains("berth-endpoint p1"))

        // The next GC removes it.
        let again = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(again.removed == ["p1"] && again.failure == nil)
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("an endpoint whose teardown fails is kept and its error returned; the other endpoints and the publications are removed all the same")
    func endpointFailureKeepsTheRest() throws {
        let (host, id) = try host()
        host.kernel.addNamespace("ctr2", loopbackUp: true)
        let failing = CNIAttachment.endpointID(containerID: "c2", ifname: "eth0")
        let endpoint = try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr2"), id: failing, interfaceName: try InterfaceName("eth0")))
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        // c2's host end cannot be unplugged (EPERM, once).
        host.kernel.refuse("update link #\(veth.index): rename", errno: FakeErrno.permission)
        let pruned = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        // Only the endpoint removed has its lease given back.
        #expect(pruned.endpoints.map(\.id) == [id])
        #expect(pruned.removed == [id, "p1"])
        let failure = try #require(pruned.failure)
        #expect(failure.message.hasPrefix("endpoint \(failing) could not be removed: "), "\(failure)")
        #expect(failure.object == .endpoint(failing) && failure.operation == .prune && failure.code == .permissionDenied)
        #expect(try host.manager.endpoints().map(\.id) == [failing])
        #expect(try host.manager.publications().isEmpty)
        #expect(host.kernel.link(veth.name) != nil)

        // The next GC removes it.
        let again = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(again.removed == [failing] && again.failure == nil, "\(again)")
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("a publications' prune that fails whole still returns the endpoints removed before it, with its error")
    func publicationPruneFailureKeepsEndpoints() throws {
        let (host, id) = try host()
        // Elements in ip6 berth tagged with this instance's id and an id its state does not
        // know (another state directory that was given the same id): leftovers only the
        // publications' prune reads that table for.
        let twin = try FakeHost(kernel: host.kernel)
        host.kernel.addNamespace("ext6", loopbackUp: true)
        try twin.manager.publish(PublicationOptions(id: "p6", group: "other", address: nil, ipv6Address: try IPv6Address(parsing: "fd00:66::6"),
                                                    namespace: .name("ext6"), ports: [try PortSpec(parsing: "8086:80")]))
        // p1's unpublish goes through; the leftovers' batch is refused.
        host.nftables.nextApplyError = BerthError(.kernel, "refused by the test")
        host.nftables.applyErrorDelay = 1
        let pruned = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(pruned.endpoints.map(\.id) == [id])
        #expect(pruned.removed == [id])
        #expect(pruned.failure?.message == "refused by the test", "\(String(describing: pruned.failure))")
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("an endpoint row of the network that cannot be read is kept, the rest removed all the same, and its error returned: GC does not report success over a row it could not judge")
    func unreadableRowReported() throws {
        let (host, id) = try host()
        host.kernel.addNamespace("ctr2", loopbackUp: true)
        let broken = CNIAttachment.endpointID(containerID: "c2", ifname: "eth0")
        try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr2"), id: broken, interfaceName: try InterfaceName("eth0")))
        try host.manager.store.write { tx throws(BerthError) in _ = try tx.db().execute("UPDATE endpoints SET mac = 'zz' WHERE id = '\(broken)'") }
        let veth = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.unreadableEndpoint(id: broken, error: BerthError(.state, "")) }).hostVeth
        let pruned = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(pruned.removed == [id, "p1"])
        let failure = try #require(pruned.failure)
        #expect(failure.message.hasPrefix("endpoint \(broken) could not be removed: "), "\(failure)")
        #expect(failure.object == .endpoint(broken) && failure.operation == .prune)
        #expect(try host.manager.publications().isEmpty)
        // Kept with its veth, and to be kept valid for the IPAM plugin's GC.
        #expect(pruned.unjudged == [CNIPruneResult.Attachment(containerID: "c2", ifname: "eth0")])
        #expect(try host.manager.store.read { tx throws(BerthError) in try tx.endpointIDs(network: "web") } == [broken])
        #expect(host.kernel.link(veth) != nil)
        // Kept: an attachment the runtime lists as valid is not reported.
        let listed = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [broken])
        #expect(listed.failure == nil && listed.unjudged.isEmpty)
    }

    /// A `berth attach` endpoint on a network of the same name is not the runtime's: its
    /// row, changed outside Berth, is no CNI attachment the GC failed to judge.
    @Test("an unreadable endpoint row whose id is not a CNI attachment's (a berth attach endpoint's) is kept and does not fail the GC")
    func unreadableNonCNIRowNotReported() throws {
        let (host, id) = try host()
        host.kernel.addNamespace("cli1", loopbackUp: true)
        host.kernel.addNamespace("cli2", loopbackUp: true)
        // "web" on eth0, and "web-1" on eth1: neither id ends in "-" and its interface name.
        let plain = try host.manager.attach(AttachOptions(network: "web", namespace: .name("cli1"), id: "web", interfaceName: try InterfaceName("eth0")))
        let dashed = try host.manager.attach(AttachOptions(network: "web", namespace: .name("cli2"), id: "web-1", interfaceName: try InterfaceName("eth1")))
        try host.manager.store.write { tx throws(BerthError) in
            _ = try tx.db().execute("UPDATE endpoints SET mac = 'zz' WHERE id = 'web'")
            _ = try tx.db().execute("UPDATE endpoints SET ifname = '' WHERE id = 'web-1'")
        }
        let pruned = try BerthBackend(manager: host.manager).prune(network: "web", keeping: [])
        #expect(pruned.failure == nil, "\(String(describing: pruned.failure))")
        #expect(pruned.removed == [id, "p1"])
        #expect(pruned.unjudged.isEmpty)
        #expect(Set(try host.manager.store.read { tx throws(BerthError) in try tx.endpointIDs(network: "web") }) == ["web", "web-1"])
        #expect(host.kernel.link(plain.hostVeth.rawValue) != nil && host.kernel.link(dashed.hostVeth.rawValue) != nil)
    }

    @Test("the IPAM plugin's GC stdin: the attachments kept unjudged appended to each list of valid attachments (null read as empty); stdin as received when there are none")
    func ipamGCStdin() throws {
        func request(_ stdin: String) throws -> CNIRequest {
            let env = ["CNI_COMMAND": "GC", "CNI_PATH": "/nonexistent"]
            return CNIRequest(env: try CNIEnvironment(env), config: try CNIConfig(try JSONValue(parsing: stdin)),
                              stdin: Array(stdin.utf8), environment: CNIVariables(env), log: CNILog())
        }
        let kept = [CNIPruneResult.Attachment(containerID: "c2", ifname: "eth0"), CNIPruneResult.Attachment(containerID: "c3", ifname: "net 1")]
        let listed = #"{"cniVersion":"1.1.0","name":"web","ipam":{"type":"host-local"},"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}"#
        #expect(try String(decoding: request(listed).ipamGCStdin(keepingAlso: kept), as: UTF8.self) == """
            {"cniVersion":"1.1.0","name":"web","ipam":{"type":"host-local"},"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},\
            {"containerID":"c2","ifname":"eth0"},{"containerID":"c3","ifname":"net 1"}]}
            """)
        let null = #"{"cniVersion":"1.1.0","name":"web","cni.dev/valid-attachments":null,"cni.dev/attachments":null}"#
        #expect(try String(decoding: request(null).ipamGCStdin(keepingAlso: Array(kept.prefix(1))), as: UTF8.self) == """
            {"cniVersion":"1.1.0","name":"web","cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}],\
            "cni.dev/attachments":[{"containerID":"c2","ifname":"eth0"}]}
            """)
        // Byte for byte: whitespace and all.
        let spaced = #"{ "cniVersion": "1.1.0", "name": "web", "cni.dev/valid-attachments": [] }"#
        #expect(try request(spaced).ipamGCStdin(keepingAlso: []) == Array(spaced.utf8))
    }
}
