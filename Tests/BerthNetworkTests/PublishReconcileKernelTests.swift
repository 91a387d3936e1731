import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

@Suite("Publishing: check and reconcile after a firewall reload (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishReconcileKernelTests {
    @Test("after nft flush ruleset, check names what is missing and reconcile makes every mapping and guard work again")
    func reconcileAfterFlush() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "rc", subnet: try CIDR(parsing: "10.78.0.0/24")))
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, port: 80, banner: "ctr")
            defer { server.stop() }
            _ = try manager.attach(AttachOptions(network: "rc", namespace: .open(container), id: "web",
                                                 ports: [try PortSpec(parsing: "8080:80"), try PortSpec(parsing: "127.0.0.1:9090:80")]))
            func reachable(_ address: String, _ port: UInt16) -> Bool {
                (try? Probe.request(from: sandbox.namespace, to: address, port: port, timeout: 3))?.hasPrefix("ctr ") == true
            }
            #expect(reachable("10.78.0.1", 8080))
            #expect(reachable("127.0.0.1", 9090))
            #expect(try manager.check().isEmpty)
            let before = sandbox.run(["nft", "list", "ruleset"]).stdout

            #expect(sandbox.run(["nft", "flush", "ruleset"]).succeeded)
            #expect(!reachable("10.78.0.1", 8080))
            let problems = try manager.check()
            #expect(problems.contains { $0.object.contains("nftables table ip berth") }, "\(problems)")

            // A partly damaged table: only one element and the guard are gone.
            _ = try manager.reconcile()
            #expect(sandbox.run(["nft", "delete", "element", "ip", "berth", "publish_any", "{ tcp . 8080 }"]).succeeded)
            let guardHandle = sandbox.run(["nft", "-a", "list", "chain", "ip", "berth", "guard"]).stdout
                .split(separator: "\n").first { $0.contains("loopback only from lo") }?
                .split(separator: " ").last.map(String.init)
            let handle = try #require(guardHandle)
            #expect(sandbox.run(["nft", "delete", "rule", "ip", "berth", "guard", "handle", handle]).succeeded)
            let missing = try manager.check()
            #expect(missing.contains { $0.endpoint == "web" && $0.object.contains("tcp . 8080") }, "\(missing)")
            #expect(missing.contains { $0.object.contains("loopback only from lo") }, "\(missing)")

            let restored = try manager.reconcile()
            #expect(restored.restored.count == 2 && restored.remaining.isEmpty, "\(restored)")
            #expect(try manager.check().isEmpty)
            #expect(reachable("10.78.0.1", 8080))
            #expect(reachable("127.0.0.1", 9090))
            #expect(sandbox.run(["nft", "list", "ruleset"]).stdout == before)
        }
    }
}
