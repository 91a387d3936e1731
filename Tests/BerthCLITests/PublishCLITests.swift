import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth attach -p`, `berth ps` and `berth port`, run as the built binary in a sandbox.
@Suite("berth CLI: port publishing (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishCLITests {
    private func parseJSON(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text)")
    }

    /// A sandbox with network "web" on 10.88.0.0/24 and a LAN address 192.0.2.1.
    private func withWeb(_ body: (HostSandbox, LANNeighbor) throws -> Void) throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let create = sandbox.berth(["network", "create", "web", "--subnet", "10.88.0.0/24"])
            try #require(create.succeeded, "\(create)")
            try body(sandbox, lan)
        }
    }

    @Test("attach -p: ps shows Docker's PORTS column, port lists the mappings, both also as JSON; the port answers")
    func listing() throws {
        try withWeb { sandbox, _ in
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            let server = try EchoServer(in: container, port: 80, banner: "ctr")
            defer { server.stop() }
            let attach = sandbox.berth(["attach", "web", "--netns", ns, "--id", "ep1", "-p", "8080:80",
                                        "--publish", "127.0.0.1:5353:53/udp", "-p", "192.0.2.1:8000-8001:9000-9001"])
            #expect(attach.status == 0, "\(attach)")
            #expect(attach.stdout == "ep1\n")

            let ps = sandbox.berth(["ps"])
            #expect(ps.status == 0, "\(ps)")
            let lines = ps.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["ID", "NETWORK", "NETNS", "IP", "PORTS"])
            let row = try #require(lines.first { $0.hasPrefix("ep1 ") })
            // As docker ps orders them: by container port (no range collapses: the host ports differ).
            #expect(row.hasSuffix(" 10.88.0.2  127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp, 192.0.2.1:8000->9000/tcp, 192.0.2.1:8001->9001/tcp"), "\(row)")

            let port = sandbox.berth(["port", "ep1"])
            #expect(port.status == 0, "\(port)")
            // An endpoint of attach has no recorded specs: by container port, as ps shows them.
            #expect(port.stdout == """
                53/udp -> 127.0.0.1:5353
                80/tcp -> 0.0.0.0:8080
                9000/tcp -> 192.0.2.1:8000
                9001/tcp -> 192.0.2.1:8001

                """)

            let portJSON = try parseJSON(sandbox.berth(["port", "ep1", "--json"]).stdout)
            #expect(portJSON.count == 4)
            #expect(portJSON.contains {
                $0["protocol"] as? String == "udp" && $0["hostIP"] as? String == "127.0.0.1"
                    && $0["hostPort"] as? Int == 5353 && $0["containerPort"] as? Int == 53
            })
            let psJSON = try parseJSON(sandbox.berth(["ps", "--json"]).stdout)
            let endpoint = try #require(psJSON.first { $0["id"] as? String == "ep1" })
            let ports = try #require(endpoint["ports"] as? [[String: Any]])
            #expect(ports.count == 4)
            #expect(ports.contains {
                $0["protocol"] as? String == "tcp" && $0["hostIP"] as? String == "0.0.0.0"
                    && $0["hostPort"] as? Int == 8080 && $0["containerPort"] as? Int == 80
            })

            // The CLI's attach really published: the host reaches the container on 127.0.0.1.
            let reply = try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080, payload: "cli")
            #expect(reply == "ctr 10.88.0.1 cli")

            #expect(sandbox.berth(["detach", "ep1"]).status == 0)
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("berth-endpoint ep1"))
        }
    }

    @Test("bad -p specs and refused publishes: exit 1 with the reason; ruleset, links and endpoints unchanged")
    func refusals() throws {
        try withWeb { sandbox, _ in
            let owner = try sandbox.makeNamespace()
            let attach = sandbox.berth(["attach", "web", "--netns", try #require(owner.name), "--id", "owner", "-p", "8080:80"])
            try #require(attach.succeeded, "\(attach)")
            #expect(sandbox.berth(["network", "create", "closed", "--subnet", "10.89.0.0/24", "--internal"]).succeeded)

            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            func state() -> [String] {
                [sandbox.run(["nft", "list", "ruleset"]).stdout,
                 sandbox.run(["ip", "-o", "link", "show"]).stdout.split(separator: "\n").map { $0.split(separator: ":")[1] }.joined(separator: ","),
                 sandbox.berth(["ps", "--json"]).stdout]
            }
            let before = state()
            let cases: [(spec: String, network: String, reason: String)] = [
                ("0-1:80-81", "web", "host port \"0\" in \"0-1\" is 0, which is not a port"),  // 0:80 alone is any free port
                ("8080:0", "web", "container port \"0\" is 0, which is not a port"),
                ("65536:80", "web", "65536"),
                ("8000-8002:9000-9001", "web", "differ in length"),
                ("300.1.2.3:8080:80", "web", "is not an IP address"),
                ("[::1]:8080:80", "web", "[::1] cannot reach an IPv4-only container"),
                ("[2001:db8::1]:8080:80", "web", "IPv6 host address 2001:db8::1"),
                ("198.51.100.7:8080:80", "web", "is not an address of this host"),
                ("8080:80", "web", "already published by endpoint owner"),
                ("192.0.2.1:8080:81", "web", "already published by endpoint owner"),
                ("8080:80", "closed", "is internal"),
            ]
            for (spec, network, reason) in cases {
                let result = sandbox.berth(["attach", network, "--netns", ns, "--id", "bad", "-p", spec])
                #expect(result.status == 1, "-p \(spec): \(result)")
                #expect(result.stderr.hasPrefix("berth: ") && result.stderr.contains(reason), "-p \(spec): \(result.stderr)")
                #expect(result.stdout.isEmpty, "-p \(spec)")
            }
            #expect(state() == before)
        }
    }
}
