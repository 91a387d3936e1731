import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Forwarding through the resolver Berth starts on attach: an upstream in a LAN peer's
/// namespace (the network's `--dns-upstream`) answers a name Berth does not know, and the
/// container gets that answer through its gateway.
@Suite("Name resolution: forwarding from an attached container (kernel)", .enabled(if: try KernelTests.enabled))
struct AttachForwardingKernelTests {
    @Test("a container asks its gateway for fwd.test: the LAN upstream's answer comes back; its own name is answered locally, never forwarded")
    func forwardedThroughTheGateway() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let upstream = try TestUpstream(in: lan.namespace, address: LANNeighbor.address)
            defer { upstream.stop() }
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            let front = try manager.createNetwork(NetworkOptions(name: "front", dnsUpstreams: [LANNeighbor.address]))
            #expect(front.dns)
            let container = try sandbox.makeNamespace()
            let endpoint = try manager.attach(AttachOptions(network: "front", namespace: .path(container.path), id: "fwd1", name: "one"))
            defer {
                _ = try? manager.detach(id: endpoint.id)
                try? manager.removeNetwork(named: "front")
                _ = try? manager.gc()
            }
            let forwarded = Command.run(["nsenter", "--net=\(container.path)", "--", "timeout", "5", "busybox", "nslookup", "fwd.test", "\(try #require(front.gateway))"])
            #expect(forwarded.stdout.contains("Address: \(TestUpstream.forwardedAddress)"), "\(forwarded)")
            let local = Command.run(["nsenter", "--net=\(container.path)", "--", "timeout", "5", "busybox", "nslookup", "one", "\(try #require(front.gateway))"])
            #expect(local.stdout.contains("Address: \(try #require(endpoint.address))"), "\(local)")
            let asked = upstream.asked.map(\.name)
            #expect(asked.contains("fwd.test."), "\(asked)")
            #expect(!asked.contains { $0.hasPrefix("one.") }, "a local name went upstream: \(asked)")
        }
    }
}
