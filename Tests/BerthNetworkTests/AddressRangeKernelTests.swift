import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// `--ip-range` and `--aux-address` through the `berth` CLI, checked against iproute2 and a
/// real TCP exchange.
@Suite("address range (kernel)", .enabled(if: try KernelTests.enabled))
struct AddressRangeKernelTests {
    @Test("a container attached to a network with --ip-range gets an address in the range on its interface, past the --aux-address, and is reachable there")
    func attachInRange() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            let create = sandbox.berth(["network", "create", "web", "--subnet", "10.34.0.0/24", "--ip-range", "10.34.0.64/26",
                                        "--aux-address", "router=10.34.0.64"])
            try #require(create.succeeded, "\(create)")
            let attach = sandbox.berth(["attach", "web", "--netns", ns])
            try #require(attach.succeeded, "\(attach)")

            let inspect = sandbox.berth(["network", "inspect", "web", "--json"])
            try #require(inspect.succeeded, "\(inspect)")
            let network = try Oracle.network(inspect.stdout)
            #expect(network["ipRange"] as? String == "10.34.0.64/26")
            #expect(network["auxiliaryAddresses"] as? [String: String] == ["router": "10.34.0.64"])
            let endpoint = try #require((network["endpoints"] as? [[String: Any]])?.first)
            #expect(endpoint["ip"] as? String == "10.34.0.65")
            let ifname = try #require(endpoint["ifname"] as? String)
            #expect(Oracle.ipv4(sandbox, dev: ifname, ns: ns) == ["10.34.0.65/24"])

            let text = sandbox.berth(["network", "inspect", "web"])
            #expect(text.stdout.contains("IP range:    10.34.0.64/26") && text.stdout.contains("Aux address: router=10.34.0.64"), "\(text)")

            let server = try EchoServer(in: container, port: 8080, banner: "ranged")
            defer { server.stop() }
            #expect(try Probe.request(from: sandbox.namespace, to: "10.34.0.65", port: 8080, payload: "in") == "ranged 10.34.0.1 in")

            // The auxiliary address is refused when asked for, naming it; one outside the
            // range is granted.
            let other = try #require(try sandbox.makeNamespace().name)
            let refused = sandbox.berth(["attach", "web", "--netns", other, "--ip", "10.34.0.64"])
            #expect(!refused.succeeded && refused.stderr.contains("address 10.34.0.64 is auxiliary address router of network \"web\""), "\(refused)")
            let pinned = sandbox.berth(["attach", "web", "--netns", other, "--ip", "10.34.0.10"])
            #expect(pinned.succeeded, "\(pinned)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: other) == ["10.34.0.10/24"])
        }
    }
}
