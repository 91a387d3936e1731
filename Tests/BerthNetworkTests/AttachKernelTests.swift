import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Networks and endpoints made by the `berth` CLI, checked against iproute2, nft and real
/// TCP exchanges.
@Suite("attach path (kernel)", .enabled(if: try KernelTests.enabled))
struct AttachKernelTests {
    @Test("network inspect --json and ps --json say what the kernel holds: bridge, addresses, veths, routes")
    func jsonMatchesKernel() throws {
        try withHostSandbox { sandbox in
            let containers = try (0..<2).map { _ in try #require(try sandbox.makeNamespace().name) }
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.31.0.0/24", "--mtu", "1400"]).succeeded)
            for ns in containers {
                let attach = sandbox.berth(["attach", "web", "--netns", ns])
                try #require(attach.succeeded, "\(attach)")
            }

            let inspect = sandbox.berth(["network", "inspect", "web", "--json"])
            try #require(inspect.succeeded, "\(inspect)")
            let network = try Oracle.network(inspect.stdout)
            let bridgeName = try #require(network["bridge"] as? String)
            #expect(network["subnet"] as? String == "10.31.0.0/24")
            #expect(network["gateway"] as? String == "10.31.0.1")
            #expect(network["mtu"] as? Int == 1400)

            let bridge = try #require(Oracle.ip(sandbox, ["-d", "link", "show", "dev", bridgeName]).first)
            #expect((bridge["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")
            #expect((bridge["flags"] as? [String])?.contains("UP") == true)
            #expect((bridge["ifalias"] as? String)?.hasPrefix("berth-network web @") == true)
            // Its fixed MAC, as inspect shows it.
            #expect(bridge["address"] as? String != nil && bridge["address"] as? String == network["bridgeMAC"] as? String)
            #expect(bridge["mtu"] as? Int == 1400)
            #expect(Oracle.ipv4(sandbox, dev: bridgeName) == ["10.31.0.1/24"])
            #expect(Oracle.bridges(sandbox).count == 1)

            let inspected = try #require(network["endpoints"] as? [[String: Any]])
            let listed = try Oracle.endpoints(sandbox)
            #expect(Set(inspected.compactMap { $0["id"] as? String }) == Set(listed.compactMap { $0["id"] as? String }))
            #expect(listed.count == 2)
            #expect(Set(listed.compactMap { $0["ip"] as? String }) == ["10.31.0.2", "10.31.0.3"])
            #expect(Set(listed.compactMap { $0["netns"] as? String }) == Set(containers.map { "/run/netns/" + $0 }))
            #expect(Oracle.berthVeths(sandbox).count == 2)

            for endpoint in listed {
                let id = try #require(endpoint["id"] as? String)
                let hostVeth = try #require(endpoint["hostVeth"] as? String)
                let ifname = try #require(endpoint["ifname"] as? String)
                let address = try #require(endpoint["ip"] as? String)
                let ns = try #require((endpoint["netns"] as? String)?.split(separator: "/").last.map(String.init))

                let veth = try #require(Oracle.ip(sandbox, ["-d", "link", "show", "dev", hostVeth]).first, "no host veth \(hostVeth)")
                #expect((veth["linkinfo"] as? [String: Any])?["info_kind"] as? String == "veth")
                #expect(veth["master"] as? String == bridgeName)
                #expect((veth["ifalias"] as? String)?.hasPrefix("berth-endpoint \(id) @") == true)
                #expect(veth["mtu"] as? Int == 1400)
                #expect((veth["flags"] as? [String])?.contains("UP") == true)

                let inside = try #require(Oracle.ip(sandbox, ["link", "show", "dev", ifname], ns: ns).first, "no \(ifname) in \(ns)")
                #expect(inside["address"] as? String == endpoint["mac"] as? String)
                #expect((inside["flags"] as? [String])?.contains("UP") == true)
                #expect(inside["mtu"] as? Int == 1400)
                #expect(Oracle.ipv4(sandbox, dev: ifname, ns: ns) == ["\(address)/24"])
                let lo = Oracle.ip(sandbox, ["link", "show", "dev", "lo"], ns: ns).first
                #expect((lo?["flags"] as? [String])?.contains("UP") == true)
                let routes = Oracle.ip(sandbox, ["-4", "route", "show"], ns: ns)
                #expect(routes.contains { $0["dst"] as? String == "default" && $0["gateway"] as? String == "10.31.0.1" && $0["dev"] as? String == ifname })
                #expect(routes.contains { $0["dst"] as? String == "10.31.0.0/24" && $0["dev"] as? String == ifname })
                // The host-side peer of the container's interface is the recorded veth.
                #expect(inside["link_index"] as? Int == veth["ifindex"] as? Int)
            }
        }
    }

    @Test("TCP host → container, container → host and container → container")
    func tcpExchanges() throws {
        try withHostSandbox { sandbox in
            let first = try sandbox.makeNamespace(), second = try sandbox.makeNamespace()
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.32.0.0/24"]).succeeded)
            for ns in [first, second] {
                let attach = sandbox.berth(["attach", "web", "--netns", try #require(ns.name)])
                try #require(attach.succeeded, "\(attach)")
            }
            let inFirst = try EchoServer(in: first, port: 8080, banner: "first")
            defer { inFirst.stop() }
            let onHost = try EchoServer(in: sandbox.namespace, port: 8081, banner: "host")
            defer { onHost.stop() }

            // The host reaches a container through the bridge, from the gateway address.
            #expect(try Probe.request(from: sandbox.namespace, to: "10.32.0.2", port: 8080, payload: "h2c") == "first 10.32.0.1 h2c")
            // A container reaches the host at its gateway.
            #expect(try Probe.request(from: first, to: "10.32.0.1", port: 8081, payload: "c2h") == "host 10.32.0.2 c2h")
            // Containers reach each other across the bridge, unNATed.
            #expect(try Probe.request(from: second, to: "10.32.0.2", port: 8080, payload: "c2c") == "first 10.32.0.3 c2c")
        }
    }

    @Test("outbound traffic to a LAN peer leaves with the host's LAN address (masquerade)")
    func masqueradeToLAN() throws {
        try withHostSandbox { sandbox in
            let lan = try LANPeer(sandbox, containerSubnet: "10.33.0.0/24")
            defer { lan.server.stop() }
            let container = try sandbox.makeNamespace()
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.33.0.0/24"]).succeeded)
            try #require(sandbox.berth(["attach", "web", "--netns", try #require(container.name)]).succeeded)

            let reply = try Probe.request(from: container, to: LANPeer.address, port: LANPeer.port, payload: "out")
            #expect(reply == "lan \(LANPeer.hostAddress) out")
            #expect(try lan.packets(from: LANPeer.hostAddress) > 0)
            #expect(try lan.packets(from: "10.33.0.0/24") == 0)
        }
    }

    @Test("--internal: no masquerade, so the LAN peer never sees the host's address and cannot answer")
    func internalHasNoMasquerade() throws {
        try withHostSandbox { sandbox in
            let lan = try LANPeer(sandbox, containerSubnet: "10.34.0.0/24")
            defer { lan.server.stop() }
            let container = try sandbox.makeNamespace()
            try #require(sandbox.berth(["network", "create", "quiet", "--subnet", "10.34.0.0/24", "--internal"]).succeeded)
            try #require(sandbox.berth(["attach", "quiet", "--netns", try #require(container.name)]).succeeded)
            let ruleset = sandbox.run(["nft", "list", "ruleset"]).stdout
            let masquerades = ruleset.split(separator: "\n").filter { $0.contains("masquerade") && $0.contains("berth-network quiet") }
            #expect(masquerades.isEmpty, "an internal network got masquerade rules: \(masquerades)")
            #expect(ruleset.contains("ip daddr 10.34.0.0/24 iifname != "), "the guard rule of the internal network is missing")

            // Without masquerade the SYN keeps the container's source address; the LAN peer
            // has no route back to 10.34.0.0/24, so no SYN-ACK ever comes: the connect times out.
            #expect(throws: (any Error).self) {
                try Probe.request(from: container, to: LANPeer.address, port: LANPeer.port, timeout: 1)
            }
            #expect(try lan.packets(from: LANPeer.hostAddress) == 0)
            // "Traffic stays on the bridge": nothing from the container reaches the LAN at all.
            let leaked = try lan.packets(from: "10.34.0.0/24")
            #expect(leaked == 0, "\(leaked) packets from the internal network reached the LAN peer")
        }
    }
}

/// A "LAN" namespace linked to the sandbox by a veth: the sandbox is 192.0.2.1/24, the peer
/// 192.0.2.2/24 with an echo server on port 9000. nft counters in the peer's input hook count
/// the TCP packets to that port by source (the sandbox's LAN address, or a container subnet),
/// which tells what crossed the link even when no connection was made.
struct LANPeer {
    static let hostAddress = "192.0.2.1"
    static let address = "192.0.2.2"
    static let port: UInt16 = 9000

    let namespace: NetworkNamespace
    let server: EchoServer
    private let sources: [String]

    init(_ sandbox: HostSandbox, containerSubnet: String) throws {
        namespace = try sandbox.makeNamespace("lan")
        let name = try #require(namespace.name)
        let setup: [[String]] = [
            ["ip", "-n", sandbox.name, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1", "netns", name],
            ["ip", "-n", sandbox.name, "addr", "add", "\(Self.hostAddress)/24", "dev", "lan0"],
            ["ip", "-n", sandbox.name, "link", "set", "lan0", "up"],
            ["ip", "-n", name, "addr", "add", "\(Self.address)/24", "dev", "lan1"],
            ["ip", "-n", name, "link", "set", "lan1", "up"],
            ["ip", "-n", name, "link", "set", "lo", "up"],
        ]
        for argv in setup {
            let result = Command.run(argv)
            try #require(result.succeeded, "\(argv): \(result)")
        }
        sources = [Self.hostAddress, containerSubnet]
        let counters = sources.indices.map { "    counter from\($0) {}" }.joined(separator: "\n")
        let rules = sources.enumerated().map { "        ip saddr \($1) tcp dport \(Self.port) counter name \"from\($0)\"" }.joined(separator: "\n")
        let witness = """
            table ip witness {
            \(counters)
                chain input {
                    type filter hook input priority 0; policy accept;
            \(rules)
                }
            }
            """
        let nft = Self.nft(in: namespace, ["-f", "-"], input: witness)
        try #require(nft.succeeded, "\(nft)")
        server = try EchoServer(in: namespace, address: Self.address, port: Self.port, banner: "lan")
    }

    /// TCP packets to the echo port that arrived from `source`, one of the two sources given
    /// at setup.
    func packets(from source: String) throws -> Int {
        let index = try #require(sources.firstIndex(of: source), "no counter for \(source)")
        let list = Self.nft(in: namespace, ["list", "counter", "ip", "witness", "from\(index)"])
        try #require(list.succeeded, "\(list)")
        let words = list.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        let value = words.firstIndex(of: "packets").flatMap { words.index(after: $0) < words.endIndex ? Int(words[words.index(after: $0)]) : nil }
        return try #require(value, "no packet count in: \(list.stdout)")
    }

    private static func nft(in namespace: NetworkNamespace, _ args: [String], input: String? = nil) -> CommandResult {
        Command.run(["nsenter", "--net=\(namespace.path)", "--", "nft"] + args, input: input)
    }
}
