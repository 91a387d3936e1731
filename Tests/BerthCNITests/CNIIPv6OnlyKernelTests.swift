import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// berth-cni on an IPv6-only network (`"ipv4": false`), the built binary in a host sandbox:
/// the result and the container hold the IPv6 address and route alone, CHECK passes, DEL
/// leaves nothing; a configuration that disagrees with the network's families is refused.
@Suite("berth-cni IPv6-only: ADD, CHECK, DEL against the kernel", .enabled(if: try KernelTests.enabled))
struct CNIIPv6OnlyKernelTests {
    @Test("ADD: only the IPv6 address and ::/0 in the result and the container, no IPv4 address but lo's; CHECK passes; DEL leaves nothing")
    func lifecycle() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            let config = cni.config("six", extra: #""ipv4":false,"ipv6Subnet":"fd00:76::/64","dnsEnabled":false"#)
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let result = try #require(add.json)
            #expect(result["ips"] == (try JSONValue(parsing: #"[{"interface":2,"address":"fd00:76::2/64","gateway":"fd00:76::1"}]"#)), "\(add)")
            #expect(result["routes"] == (try JSONValue(parsing: #"[{"dst":"::/0","gw":"fd00:76::1"}]"#)), "\(add)")
            let inet = sandbox.run(["ip", "-n", ns, "-4", "-o", "addr"]).stdout
            #expect(inet.split(separator: "\n").count == 1 && inet.contains("127.0.0.1/8"), "\(inet)")
            #expect(sandbox.witness(["ip", "-n", ns, "-4", "route"]).isEmpty)
            #expect(sandbox.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout.contains("inet6 fd00:76::2/64"))
            let server = try EchoServer(in: container, address: "::", port: 80, banner: "ctr")
            defer { server.stop() }
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:76::2", port: 80, payload: "six", timeout: 3)) == "ctr fd00:76::1 six")

            let withPrevious = CNIHarness.with(prevResult: add.stdout, config)
            let check = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(check.status == 0 && check.stdout.isEmpty, "\(check)")
            // The same network asked for with IPv4 is refused, nothing made.
            let other = try sandbox.makeNamespace()
            let refused = cni.run("ADD", cni.config("six", extra: #""ipv6":true"#), containerID: "c2", netns: other.path)
            #expect(refused.code == 7 && refused.message.contains("network six exists with ipv4 false"), "\(refused)")
            #expect(!sandbox.witness(["ip", "-n", try #require(other.name), "link"]).contains("eth0"))

            let del = cni.run("DEL", withPrevious, containerID: "c1", netns: container.path)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(cni.hostVeths().isEmpty)
        }
    }
}
