import BerthCore
import BerthNamespace
import BerthNFTables
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// The proposed `ip6 berth` table in the kernel, installed through libnftnl as Berth would:
/// nft prints it as the fake renders it, and traffic takes the paths docs/ipv6.md describes
/// (LAN peer, host, hairpin, masquerade, the direct-access guard, ::1 left alone).
@Suite("IPv6 firewall layout (kernel)", .enabled(if: try KernelTests.enabled))
struct IPv6FirewallKernelTests {
    @Test("nft lists the table exactly as the fake renders it")
    func agreement() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            try backend.apply(IPv6FirewallLayoutTests.transaction())
            let listed = sandbox.run(["nft", "list", "table", "ip6", "berth"])
            #expect(listed.succeeded)
            let fake = FakeBackend()
            try fake.apply(IPv6FirewallLayoutTests.transaction())
            let contents = try fake.list(table: IPv6FirewallLayout.table)
            let rendered = Renderer.table(try #require(contents))
            expectGolden(listed.stdout, rendered)
            // And Berth reads back what it wrote.
            let read = try backend.list(table: IPv6FirewallLayout.table)
            expectGolden(Renderer.table(try #require(read)), rendered)
        }
    }

    @Test("published v6 ports: LAN peer, host, hairpin; outbound masquerade of a ULA and a global subnet; the guard; the host to the gateway; ::1 left to the host")
    func traffic() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            try Self.run(sandbox, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
            let bridge = "b6\(KernelTests.uniqueSuffix())"
            let subnet = try CIDR(parsing: "fd00:beef::/64")
            try Self.bridge(sandbox, bridge, gateway: "fd00:beef::1/64")
            let c1 = try sandbox.makeNamespace(), c2 = try sandbox.makeNamespace()
            try Self.attach(sandbox, c1, to: bridge, address: "fd00:beef::2/64", gateway: "fd00:beef::1")
            try Self.attach(sandbox, c2, to: bridge, address: "fd00:beef::3/64", gateway: "fd00:beef::1")
            // A second network with a global subnet: its outbound traffic must be masqueraded
            // too, or the reply (the LAN peer routes everything back via the host) meets its
            // guard on the uplink.
            let globalBridge = "b6g\(KernelTests.uniqueSuffix())"
            let globalSubnet = try CIDR(parsing: "2001:db8:1::/64")
            try Self.bridge(sandbox, globalBridge, gateway: "2001:db8:1::1/64")
            let c3 = try sandbox.makeNamespace()
            try Self.attach(sandbox, c3, to: globalBridge, address: "2001:db8:1::2/64", gateway: "2001:db8:1::1")
            let servers = [try EchoServer(in: c1, address: "::", port: 80, banner: "c1"),
                           try EchoServer(in: c1, address: "::", port: 81, banner: "c1-unpublished"),
                           try EchoServer(in: c1, address: "::", port: 53, protocol: .udp, banner: "c1-udp"),
                           try EchoServer(in: c2, address: "::", port: 80, banner: "c2"),
                           try EchoServer(in: lan.namespace, address: "::", port: 80, banner: "lan"),
                           try EchoServer(in: sandbox.namespace, address: "::1", port: 8080, banner: "host-loopback"),
                           try EchoServer(in: sandbox.namespace, address: "fd00:beef::1", port: 82, banner: "host-gateway")]
            defer { servers.forEach { $0.stop() } }
            // A first neighbour solicitation may go unanswered for up to a second (docs/ipv6.md):
            // a probe that should be answered waits 3 s, one that should not waits 1 s.
            func probe(_ from: NetworkNamespace, _ address: String, _ port: UInt16, _ proto: ProbeProtocol = .tcp) -> String {
                (try? Probe.request(from: from, to: address, port: port, protocol: proto, timeout: 3)) ?? "no answer"
            }
            /// The guard drops: no answer until the timeout, nothing else.
            func dropped(_ from: NetworkNamespace, _ address: String, _ port: UInt16, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
                Probe.expectNoReply(.dropped, from: from, to: address, port: port, comment, sourceLocation: sourceLocation)
            }

            // Positive control for the guard: without Berth's table the LAN peer that routes
            // the container /64 via the host reaches an unpublished port.
            try lan.route("fd00:beef::/64")
            #expect(probe(lan.namespace, "fd00:beef::2", 81).hasPrefix("c1-unpublished fd00:121::2 "))

            var transaction = Transaction()
            for object in IPv6FirewallLayout.skeleton { transaction.add(object) }
            for rule in IPv6FirewallLayout.staticRules { transaction.add(.rule(rule)) }
            for rule in IPv6FirewallLayout.networkRules(name: "web", instance: "f4ce0001", subnet: subnet, bridge: try InterfaceName(bridge), isInternal: false) {
                transaction.add(.rule(rule))
            }
            for rule in IPv6FirewallLayout.networkRules(name: "dmz", instance: "f4ce0001", subnet: globalSubnet, bridge: try InterfaceName(globalBridge),
                                                        isInternal: false) {
                transaction.add(.rule(rule))
            }
            let one = try IPv6Address(parsing: "fd00:beef::2"), two = try IPv6Address(parsing: "fd00:beef::3")
            for (mapping, container) in [
                (PortMappingRecord(endpointID: "one", proto: .tcp, hostAddress: .v6(.any), hostPort: 8080, containerPort: 80), one),
                (PortMappingRecord(endpointID: "one", proto: .udp, hostAddress: .v6(.any), hostPort: 5353, containerPort: 53), one),
                (PortMappingRecord(endpointID: "two", proto: .tcp, hostAddress: try IPAddress(parsing: LANNeighbor.hostAddress6), hostPort: 9090,
                                   containerPort: 80), two),
            ] {
                let (element, map) = try #require(IPv6FirewallLayout.element(for: mapping, container: container, instance: "f4ce0001"))
                transaction.create(.element(element, in: map))
            }
            try KernelBackend(namespace: sandbox.namespace).apply(transaction)

            let host6 = LANNeighbor.hostAddress6
            #expect(probe(lan.namespace, host6, 8080).hasPrefix("c1 fd00:121::2 "), "LAN peer, its own source address kept")
            #expect(probe(lan.namespace, host6, 5353, .udp).hasPrefix("c1-udp fd00:121::2 "))
            #expect(probe(lan.namespace, host6, 9090).hasPrefix("c2 fd00:121::2 "), "a publish on one host address")
            #expect(probe(sandbox.namespace, host6, 8080).hasPrefix("c1 fd00:121::1 "), "the host to its own address")
            #expect(probe(c1, host6, 8080).hasPrefix("c1 fd00:beef::1 "), "hairpin to itself")
            #expect(probe(c2, host6, 8080).hasPrefix("c1 fd00:beef::1 "), "a sibling through the host")
            #expect(probe(c1, LANNeighbor.address6, 80).hasPrefix("lan fd00:121::1 "), "outbound from a ULA subnet is masqueraded")
            #expect(probe(c3, LANNeighbor.address6, 80).hasPrefix("lan fd00:121::1 "), "outbound from a global subnet is masqueraded")
            #expect(probe(c3, host6, 8080).hasPrefix("c1 fd00:beef::1 "), "... and into another network through a published port")
            #expect(probe(c2, "fd00:beef::2", 81).hasPrefix("c1-unpublished fd00:beef::3 "), "containers reach each other directly")
            dropped(lan.namespace, "fd00:beef::2", 81, "the guard: no direct access from the LAN")
            dropped(lan.namespace, "fd00:beef::2", 80, "... to a published port either")
            // The host's own packets to the gateway come back in through lo, past the guard.
            #expect(probe(sandbox.namespace, "fd00:beef::1", 82).hasPrefix("host-gateway fd00:beef::1 "), "the host reaches its service on the gateway")
            dropped(lan.namespace, "fd00:beef::1", 82, "the guard: not the gateway from the LAN either")
            #expect(probe(sandbox.namespace, "::1", 8080).hasPrefix("host-loopback ::1 "), "::1 is left to the host's own listener")
        }
    }

    // MARK: - Fixtures (iproute2: the kernel objects Berth's attach would make)

    private static func run(_ sandbox: HostSandbox, _ argv: [String]) throws {
        let result = sandbox.run(argv)
        if !result.succeeded { throw SandboxError("\(argv.joined(separator: " ")): \(result)") }
    }

    private static func bridge(_ sandbox: HostSandbox, _ name: String, gateway: String) throws {
        for argv in [["ip", "link", "add", name, "type", "bridge"], ["sysctl", "-qw", "net.ipv6.conf.\(name).accept_ra=0"],
                     ["ip", "link", "set", name, "up"], ["ip", "addr", "add", gateway, "dev", name, "nodad"]] {
            try run(sandbox, argv)
        }
    }

    /// A veth on `bridge` (hairpin on) whose peer is `eth0` in `container`, IPv6 only.
    private static func attach(_ sandbox: HostSandbox, _ container: NetworkNamespace, to bridge: String, address: String, gateway: String) throws {
        let name = try #require(container.name)
        let hostLink = "v" + String(name.suffix(12))
        for argv in [["ip", "link", "add", hostLink, "master", bridge, "up", "type", "veth", "peer", "name", "eth0", "netns", name],
                     ["ip", "link", "set", hostLink, "type", "bridge_slave", "hairpin", "on"],
                     ["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=0"],
                     ["ip", "-n", name, "link", "set", "eth0", "up"], ["ip", "-n", name, "link", "set", "lo", "up"],
                     ["ip", "-n", name, "addr", "add", address, "dev", "eth0", "nodad"],
                     ["ip", "-n", name, "-6", "route", "add", "default", "via", gateway]] {
            try run(sandbox, argv)
        }
    }
}
