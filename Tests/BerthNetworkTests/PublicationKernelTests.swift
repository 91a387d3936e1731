import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Publications: ports to an address another program wired (here `ip`, playing a bridge
/// plugin), and the library calls a CNI plugin needs: verify, describe, prune, readiness.
@Suite("Publications, verify, prune and readiness (kernel)", .enabled(if: try KernelTests.enabled))
struct PublicationKernelTests {
    /// Wires `ns` to a bridge `extbr0` (10.66.0.1/24) with `ip`, as another program would;
    /// the container gets 10.66.0.2.
    private func wireByHand(_ sandbox: HostSandbox, _ ns: NetworkNamespace) throws {
        let name = try #require(ns.name)
        for step in [["ip", "link", "add", "extbr0", "type", "bridge"], ["ip", "addr", "add", "10.66.0.1/24", "dev", "extbr0"],
                     ["ip", "link", "set", "extbr0", "up"], ["ip", "link", "add", "extv0", "master", "extbr0", "type", "veth", "peer", "name", "eth0", "netns", name],
                     ["ip", "link", "set", "extv0", "up"], ["ip", "-n", name, "addr", "add", "10.66.0.2/24", "dev", "eth0"],
                     ["ip", "-n", name, "link", "set", "eth0", "up"], ["ip", "-n", name, "route", "add", "default", "via", "10.66.0.1"]] {
            let result = sandbox.run(step)
            try #require(result.succeeded, "\(step): \(result)")
        }
        #expect(sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]).succeeded)
    }

    @Test("publish forwards host ports to the address, without Berth's network; clashes name the owner; unpublish removes; reconcile restores; gc collects")
    func publications() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            let ns = try sandbox.makeNamespace()
            try wireByHand(sandbox, ns)
            let server = try EchoServer(in: ns, port: 80, banner: "ext")
            defer { server.stop() }
            let record = try manager.publish(PublicationOptions(id: "pub1", group: "extnet", address: IPv4Address(10, 66, 0, 2), namespace: .path(ns.path),
                                                                hostLink: try InterfaceName("extbr0"), ports: [try PortSpec(parsing: "8080:80")]))
            #expect(record.ports.map(\.description) == ["tcp 0.0.0.0:8080->80"])
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080, payload: "p") == "ext 10.66.0.1 p")
            #expect(try manager.verifyPublication(id: "pub1").isEmpty)
            #expect(try manager.publications(group: "extnet").map(\.id) == ["pub1"])

            // An endpoint cannot take the key, and is told who holds it.
            try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24")))
            let other = try sandbox.makeNamespace()
            let clash = try #require(throws: BerthError.self) {
                try manager.attach(AttachOptions(network: "web", namespace: .path(other.path), id: "ep1", ports: [try PortSpec(parsing: "8080:80")]))
            }
            #expect(clash.code == .conflict)
            #expect(clash.message.contains("publication pub1"), "\(clash.message)")

            // After a firewall flush, verify names the element and reconcile brings it back.
            #expect(sandbox.run(["nft", "flush", "map", "ip", "berth", "publish_any"]).succeeded)
            #expect(try manager.verifyPublication(id: "pub1").contains { $0.object.contains("publish_any") })
            #expect(sandbox.run(["nft", "flush", "ruleset"]).succeeded)
            #expect(try manager.verifyPublication(id: "pub1").contains { $0.object.contains("table ip berth") })
            try manager.reconcile()
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080, payload: "r") == "ext 10.66.0.1 r")

            try manager.unpublish(id: "pub1")
            try manager.unpublish(id: "pub1")
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("pub1"))
            #expect(try manager.publication(id: "pub1") == nil)

            // A publication whose namespace is gone is garbage.
            _ = try manager.publish(PublicationOptions(id: "pub2", group: "extnet", address: IPv4Address(10, 66, 0, 2), namespace: .path(ns.path),
                                                       ports: [try PortSpec(parsing: "8081:80")]))
            server.stop()
            try NetworkNamespace.delete(named: try #require(ns.name))
            #expect(try manager.gc().endpoints.contains("pub2"))
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("pub2"))
        }
    }

    @Test("verifyEndpoint names each missing piece; describe gives the host links' MACs; pruneEndpoints keeps the listed; attachBlockers sees a full pool")
    func endpointTools() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            let network = try manager.createNetwork(NetworkOptions(name: "tiny", subnet: try CIDR(parsing: "10.67.0.0/29")))
            var ids: [String] = []
            for i in 1...3 {
                let ns = try sandbox.makeNamespace()
                ids.append(try manager.attach(AttachOptions(network: "tiny", namespace: .path(ns.path), id: "ep\(i)")).id)
            }
            let first = try manager.endpoint("ep1")
            #expect(try manager.verifyEndpoint(id: "ep1").isEmpty)
            let description = try manager.describe(first)
            #expect(description.network == network)
            #expect(description.bridgeMAC != nil && description.hostVethMAC != nil)
            #expect(try description.addressCIDR?.description == "10.67.0.2/29")
            #expect(sandbox.run(["ip", "link", "del", first.hostVeth.rawValue]).succeeded)
            let problems = try manager.verifyEndpoint(id: "ep1").map(\.description)
            #expect(problems.contains { $0.contains("veth \(first.hostVeth): missing") }, "\(problems)")
            #expect(problems.contains { $0.contains("interface eth0") && $0.contains("missing") }, "\(problems)")
            #expect(throws: BerthError.self) { try manager.verifyEndpoint(id: "nope") }

            // /29: gateway + 5 endpoints; 3 attached.
            #expect(try manager.attachBlockers(network: "tiny").isEmpty)
            for i in 4...5 { _ = try manager.attach(AttachOptions(network: "tiny", namespace: .path(try sandbox.makeNamespace().path), id: "ep\(i)")) }
            let blockers = try manager.attachBlockers(network: "tiny")
            #expect(blockers.first?.message.contains("no free address left") == true, "\(blockers)")
            #expect(try manager.attachBlockers(network: "absent").first?.code == .notFound)
            #expect(try manager.attachBlockers(network: "new", creating: NetworkOptions(name: "new", subnet: try CIDR(parsing: "10.67.0.0/24"))).first?.code == .conflict)

            let report = try manager.pruneEndpoints(network: "tiny", keeping: ["ep2"])
            #expect(Set(report.endpoints) == ["ep1", "ep3", "ep4", "ep5"])
            #expect(try manager.endpoints(network: "tiny").map(\.id) == ["ep2"])
            #expect(try manager.verifyEndpoint(id: "ep2").isEmpty)
        }
    }
}
