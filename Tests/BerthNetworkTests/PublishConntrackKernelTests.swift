import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// The stale-conntrack paths of a published UDP port (kernel-facts: a datagram flow keeps
/// its conntrack entry, and with it its old NAT decision, while it keeps sending).
@Suite("Publishing: conntrack cleanup (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishConntrackKernelTests {
    @Test("a UDP flow that began before the mapping, or went to the previous owner, reaches the new container at once")
    func udpFlowFollowsThePublish() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "ct", subnet: try CIDR(parsing: "10.77.0.0/24")))
            let first = try sandbox.makeNamespace()
            let second = try sandbox.makeNamespace()
            let server1 = try EchoServer(in: first, port: 53, protocol: .udp, banner: "first")
            let server2 = try EchoServer(in: second, port: 53, protocol: .udp, banner: "second")
            defer { server1.stop(); server2.stop() }
            func ask() -> String? {
                try? Probe.request(from: sandbox.namespace, to: "10.77.0.1", port: 5353, protocol: .udp,
                                   payload: "q", timeout: 3, sourcePort: 45000)
            }

            // Before any mapping the flow is set up without NAT and gets no answer.
            #expect(ask() == nil)
            let spec = try PortSpec(parsing: "5353:53/udp")
            let a = try manager.attach(AttachOptions(network: "ct", namespace: .open(first), id: "first", ports: [spec]))
            let reply1 = try #require(ask(), "the flow from port 45000 was not redirected after the attach")
            #expect(reply1.hasPrefix("first "))

            try manager.detach(id: a.id)
            _ = try manager.attach(AttachOptions(network: "ct", namespace: .open(second), id: "second", ports: [spec]))
            let reply2 = try #require(ask(), "the flow from port 45000 did not follow the port to the new container")
            #expect(reply2.hasPrefix("second "))
        }
    }
}
