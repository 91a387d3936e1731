import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Publishing on a dual-stack network in the host sandbox (issue 15): what `attach -p`
/// installs carries real traffic over IPv6 — from the LAN peer with its own source kept,
/// from the host to itself, hairpin and sibling — a dual-stack `-p 8080:80` answers on both
/// families, `-p [v6]:…` only on that address, the guard holds, and a UDP flow that began
/// before the publish is cleaned up.
///
/// A first IPv6 contact may wait up to a second for a neighbour solicitation (docs/ipv6.md,
/// "The first packets after an attach"): a probe that must be answered waits 3 s, one that
/// must not 1 s.
@Suite("Publishing over IPv6 (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishIPv6KernelTests {
    /// A sandbox host with the LAN peer and the dual-stack network web (10.88.0.0/24, fd00:beef::/64).
    private struct DualHost {
        let sandbox: HostSandbox
        let manager: NetworkManager
        let lan: LANNeighbor

        init(_ sandbox: HostSandbox) throws {
            self.sandbox = sandbox
            lan = try sandbox.makeLANNeighbor()
            manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"),
                                                     ipv6Subnet: try CIDR(parsing: "fd00:beef::/64")))
        }

        /// A container with TCP echo servers on `serverPorts` of both families (and UDP on
        /// 53), attached with `ports`; they answer `"<banner> <peer> <payload>"`.
        func container(_ id: String, ports: [String], serverPorts: [UInt16] = [80]) throws -> (NetworkNamespace, EndpointRecord, [EchoServer]) {
            let ns = try sandbox.makeNamespace()
            var servers: [EchoServer] = []
            for port in serverPorts {
                servers.append(try EchoServer(in: ns, port: port, banner: "\(id)-v4:\(port)"))
                servers.append(try EchoServer(in: ns, address: "::", port: port, banner: "\(id)-v6:\(port)"))
            }
            servers.append(try EchoServer(in: ns, address: "::", port: 53, protocol: .udp, banner: "\(id)-udp6"))
            let specs = try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }
            let endpoint = try manager.attach(AttachOptions(network: "web", namespace: .open(ns), id: id, ports: specs))
            return (ns, endpoint, servers)
        }
    }

    private static func probe(_ from: NetworkNamespace, _ address: String, _ port: UInt16, _ proto: ProbeProtocol = .tcp) -> String {
        (try? Probe.request(from: from, to: address, port: port, protocol: proto, timeout: 3)) ?? "no answer"
    }

    /// No answer, and the way `silence` says: nothing listening refuses (a reset), the guard
    /// drops; any other failure is an issue.
    private static func silent(_ silence: Probe.Silence, _ from: NetworkNamespace, _ address: String, _ port: UInt16,
                               _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        Probe.expectNoReply(silence, from: from, to: address, port: port, comment, sourceLocation: sourceLocation)
    }

    @Test("-p 8080:80 on a dual-stack network: the LAN peer (its source kept), the host itself, hairpin and a sibling over IPv6; IPv4 as before")
    func dualStackPublish() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let (c1, one, s1) = try host.container("one", ports: ["8080:80", "5353:53/udp"])
            let (c2, _, s2) = try host.container("two", ports: [])
            defer { (s1 + s2).forEach { $0.stop() } }
            #expect(one.ports.map(\.dockerDescription) == ["0.0.0.0:8080->80/tcp", "[::]:8080->80/tcp", "0.0.0.0:5353->53/udp", "[::]:5353->53/udp"])
            let lan = host.lan.namespace, v6 = LANNeighbor.hostAddress6
            #expect(Self.probe(lan, v6, 8080).hasPrefix("one-v6:80 fd00:121::2 "), "LAN peer over IPv6, its own source kept")
            #expect(Self.probe(lan, LANNeighbor.hostAddress, 8080).hasPrefix("one-v4:80 192.0.2.2 "), "and over IPv4")
            #expect(Self.probe(lan, v6, 5353, .udp).hasPrefix("one-udp6 fd00:121::2 "), "UDP over IPv6")
            #expect(Self.probe(sandbox.namespace, v6, 8080).hasPrefix("one-v6:80 fd00:121::1 "), "the host to its own IPv6 address")
            #expect(Self.probe(c1, v6, 8080).hasPrefix("one-v6:80 fd00:beef::1 "), "hairpin to itself")
            #expect(Self.probe(c2, v6, 8080).hasPrefix("one-v6:80 fd00:beef::1 "), "a sibling through the host")
            #expect(Self.probe(c2, "fd00:beef::2", 80).hasPrefix("one-v6:80 fd00:beef::3 "), "siblings reach each other directly")

            // Detach takes the IPv6 elements with the IPv4 ones.
            try host.manager.detach(id: "one")
            Self.silent(.refused, lan, v6, 8080, "nothing publishes 8080 any more")
            let ruleset = sandbox.run(["nft", "list", "table", "ip6", "berth"]).stdout
            #expect(!ruleset.contains("berth-endpoint one"))
        }
    }

    @Test("a fresh bridge forwards to its first container at once: its link-local is never tentative (accept_dad=0), so the first LAN probe to a published IPv6 port is answered, one attempt")
    func firstContactOnFreshBridge() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let bridge = try host.manager.network(named: "web").bridge.rawValue
            // The host solicits a forwarded packet's next hop from a non-tentative link-local
            // address of the bridge, and sends nothing while it has none (ndisc_send_ns):
            // with DAD the first SYN went nowhere for 1-2 s, and a connection failed with
            // EHOSTUNREACH at 3 s when DAD ran longer (docs/ipv6.md).
            func linkLocal() -> String {
                sandbox.run(["ip", "-6", "-o", "addr", "show", "dev", bridge, "scope", "link"]).stdout
            }
            #expect(sandbox.run(["sysctl", "-n", "net.ipv6.conf.\(bridge).accept_dad"]).stdout.hasPrefix("0"))
            // (No link-local before the first port: a bridge without carrier has none to check.)
            let (_, _, servers) = try host.container("one", ports: ["8080:80"])
            defer { servers.forEach { $0.stop() } }
            let attached = linkLocal()
            #expect(attached.contains("inet6 fe80::") && !attached.contains("tentative"), "right after the first attach: \(attached)")
            var answer: String
            do {
                answer = try Probe.request(from: host.lan.namespace, to: LANNeighbor.hostAddress6, port: 8080, timeout: 3)
            } catch {
                answer = "\(error)"
            }
            #expect(answer.hasPrefix("one-v6:80 fd00:121::2 "), "the first LAN probe, one attempt: \(answer)")
        }
    }

    @Test("a container of a network with a global IPv6 subnet reaches a port another network publishes, through the host's IPv6 address (its reply is not dropped by its own guard)")
    func globalSubnetToOtherNetworksPort() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let (_, _, s1) = try host.container("one", ports: ["8080:80"])
            defer { s1.forEach { $0.stop() } }
            try host.manager.createNetwork(NetworkOptions(name: "dmz", subnet: try CIDR(parsing: "10.89.0.0/24"),
                                                          ipv6Subnet: try CIDR(parsing: "2001:db8:1::/64")))
            let ns = try sandbox.makeNamespace()
            _ = try host.manager.attach(AttachOptions(network: "dmz", namespace: .open(ns), id: "client"))
            // Masqueraded into web: the reply goes to web's gateway, past dmz's guard.
            #expect(Self.probe(ns, LANNeighbor.hostAddress6, 8080).hasPrefix("one-v6:80 fd00:beef::1 "))
            #expect(Self.probe(ns, LANNeighbor.hostAddress, 8080).hasPrefix("one-v4:80 10.88.0.1 "), "as over IPv4")
        }
    }

    @Test("a 1,000-port range on a dual-stack network: 1,000 elements in each table (one batch, the families apart), traffic on both, all gone after detach")
    func dualStackRange() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let (_, endpoint, servers) = try host.container("rng", ports: ["20000-20999:20000-20999"], serverPorts: [20500])
            defer { servers.forEach { $0.stop() } }
            #expect(endpoint.ports.count == 2000)
            #expect(endpoint.ports.prefix(2).map(\.dockerDescription) == ["0.0.0.0:20000->20000/tcp", "[::]:20000->20000/tcp"])
            func count(_ family: String) -> Int {
                sandbox.nftTable(family).components(separatedBy: "berth-endpoint rng").count - 1
            }
            #expect(count("ip") == 1000 && count("ip6") == 1000)
            let lan = host.lan.namespace
            #expect(Self.probe(lan, LANNeighbor.hostAddress6, 20500).hasPrefix("rng-v6:20500 fd00:121::2 "))
            #expect(Self.probe(lan, LANNeighbor.hostAddress, 20500).hasPrefix("rng-v4:20500 192.0.2.2 "))
            let recorded = try host.manager.endpoint("rng").ports
            #expect(Set(recorded) == Set(endpoint.ports))
            try host.manager.detach(id: "rng")
            #expect(count("ip") == 0 && count("ip6") == 0)
            Self.silent(.refused, lan, LANNeighbor.hostAddress6, 20500)
        }
    }

    @Test("-p [v6]:9090:80 answers only on that address; 0.0.0.0:9091:80 only on IPv4")
    func oneAddress() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let second = "fd00:121::10"
            let added = sandbox.run(["ip", "addr", "add", "\(second)/64", "dev", LANNeighbor.hostInterface, "nodad"])
            try #require(added.succeeded, "\(added)")
            let (_, endpoint, servers) = try host.container("one", ports: ["[\(second)]:9090:80", "0.0.0.0:9091:80"])
            defer { servers.forEach { $0.stop() } }
            #expect(endpoint.ports.map(\.dockerDescription) == ["[fd00:121::10]:9090->80/tcp", "0.0.0.0:9091->80/tcp"])
            let lan = host.lan.namespace
            #expect(Self.probe(lan, second, 9090).hasPrefix("one-v6:80 fd00:121::2 "))
            Self.silent(.refused, lan, LANNeighbor.hostAddress6, 9090, "not on the host's other IPv6 address")
            Self.silent(.refused, lan, LANNeighbor.hostAddress, 9090, "not on IPv4")
            #expect(Self.probe(lan, LANNeighbor.hostAddress, 9091).hasPrefix("one-v4:80 192.0.2.2 "))
            Self.silent(.refused, lan, LANNeighbor.hostAddress6, 9091, "0.0.0.0 is IPv4 only, as in Docker")
        }
    }

    @Test("the guard: a LAN peer routing the container /64 via the host gets no answer from published or unpublished ports (positive control first)")
    func guardHolds() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let (_, _, servers) = try host.container("one", ports: ["8080:80"], serverPorts: [80, 81])
            defer { servers.forEach { $0.stop() } }
            let lan = host.lan.namespace
            try host.lan.route("fd00:beef::/64")
            // Positive control: with the network's IPv6 guard rule flushed, the route works.
            let flushed = sandbox.run(["nft", "flush", "chain", "ip6", "berth", "guard"])
            try #require(flushed.succeeded, "\(flushed)")
            #expect(Self.probe(lan, "fd00:beef::2", 81).hasPrefix("one-v6:81 fd00:121::2 "))
            // reconcile puts the guard back; now nothing answers directly.
            #expect(try host.manager.reconcile().restored.contains { $0.description.contains("ip6 daddr fd00:beef::/64") })
            Self.silent(.dropped, lan, "fd00:beef::2", 81, "an unpublished port")
            Self.silent(.dropped, lan, "fd00:beef::2", 80, "a published port, directly")
            #expect(Self.probe(lan, LANNeighbor.hostAddress6, 8080).hasPrefix("one-v6:80 fd00:121::2 "), "the published port through the host still works")
        }
    }

    @Test("a UDP flow over IPv6 that began before the publish reaches the container at once (its stale conntrack entry is deleted)")
    func conntrackIPv6() throws {
        try withHostSandbox { sandbox in
            let host = try DualHost(sandbox)
            let ns = try sandbox.makeNamespace()
            let server = try EchoServer(in: ns, address: "::", port: 53, protocol: .udp, banner: "ct6")
            defer { server.stop() }
            func ask() -> String? {
                try? Probe.request(from: host.lan.namespace, to: LANNeighbor.hostAddress6, port: 5353, protocol: .udp,
                                   payload: "q", timeout: 3, sourcePort: 45000)
            }
            #expect(ask() == nil, "no mapping yet: the flow is set up without NAT")
            _ = try host.manager.attach(AttachOptions(network: "web", namespace: .open(ns), id: "ct6", ports: [try PortSpec(parsing: "5353:53/udp")]))
            let reply = try #require(ask(), "the flow from port 45000 was not redirected after the attach")
            #expect(reply.hasPrefix("ct6 fd00:121::2 "))
        }
    }
}
