import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth attach -p`, `ps` and `port` on a dual-stack network, as the built binary in a
/// sandbox (issue 15): both families listed as Docker lists them, the IPv6 mapping answers,
/// and the IPv6 host addresses no DNAT can serve are refused with nothing changed.
@Suite("berth CLI: IPv6 port publishing (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishIPv6CLITests {
    @Test("-p 8080:80 on a dual-stack network: ps, port and --json show 0.0.0.0 and [::]; the IPv6 mapping answers the LAN peer")
    func listing() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24", "--subnet", "fd00:9::/64"]).succeeded)
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, address: "::", port: 80, banner: "ctr")
            defer { server.stop() }
            let attach = sandbox.berth(["attach", "web", "--netns", try #require(container.name), "--id", "ep1", "-p", "8080:80"])
            try #require(attach.succeeded, "\(attach)")
            let row = try #require(sandbox.berth(["ps"]).stdout.split(separator: "\n").first { $0.hasPrefix("ep1 ") })
            #expect(row.hasSuffix(" 10.9.0.2,fd00:9::2  0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"), "\(row)")
            #expect(sandbox.berth(["port", "ep1"]).stdout == "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n")
            let json = sandbox.berth(["port", "ep1", "--json"]).stdout
            let ports = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            #expect(ports.compactMap { $0["hostIP"] as? String } == ["0.0.0.0", "::"])
            let reply = try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress6, port: 8080, timeout: 3)
            #expect(reply?.hasPrefix("ctr fd00:121::2 ") == true, "\(reply ?? "no answer")")
        }
    }

    @Test("IPv6 host addresses no DNAT can serve are refused saying why, nothing changed")
    func refusals() throws {
        try withHostSandbox { sandbox in
            _ = try sandbox.makeLANNeighbor()
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24", "--subnet", "fd00:9::/64"]).succeeded)
            try #require(sandbox.berth(["network", "create", "v4", "--subnet", "10.8.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            func state() -> [String] {
                [sandbox.run(["nft", "list", "ruleset"]).stdout, sandbox.run(["ip", "-o", "link", "show"]).stdout.split(separator: "\n")
                    .map { $0.split(separator: ":")[1] }.joined(separator: ","), sandbox.berth(["ps", "--json"]).stdout]
            }
            let before = state()
            for (network, spec, reason) in [
                ("web", "[::1]:8080:80", "the kernel cannot DNAT a connection from ::1 to a container (IPv6 has no route_localnet)"),
                ("web", "[fe80::1]:8080:80", "link-local address fe80::1 cannot be published"),
                ("web", "[fd00:9::99]:8080:80", "is not an address of this host"),
                ("v4", "[\(LANNeighbor.hostAddress6)]:8080:80", "IPv6 host address fd00:121::1 on network v4, which is IPv4-only"),
            ] {
                let result = sandbox.berth(["attach", network, "--netns", ns, "--id", "bad", "-p", spec])
                #expect(result.status == 1 && result.stderr.contains(reason), "-p \(spec): \(result)")
            }
            #expect(state() == before)
        }
    }
}
