import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Publishing is all or nothing: a refused attach names why and leaves the ruleset, the
/// links and the state exactly as they were; a detach takes away exactly what the attach added.
@Suite("Port publishing: conflicts and cleanup (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishConflictTests {
    typealias Host = PublishHost

    /// Attaches a fresh namespace as `id` with `ports`, expects a refusal with `code` whose
    /// message contains every fragment, and that nothing changed.
    private func expectRefused(_ host: Host, id: String = "bad", ports: [String], network: String = "web", code: BerthError.Code,
                               _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try host.snapshot()
        let ns = try host.namespace()
        let error = #expect(throws: BerthError.self, "\(ports)", sourceLocation: sourceLocation) {
            try host.attach(ns, id: id, ports: ports, network: network)
        }
        #expect(error?.code == code, "\(ports): \(String(describing: error))", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error?.message.contains(fragment) == true, "\(ports): \"\(error?.message ?? "")\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
        }
        #expect(error?.hint?.isEmpty == false, "\(ports): no hint", sourceLocation: sourceLocation)
        #expect(try host.snapshot() == before, "\(ports) changed the host", sourceLocation: sourceLocation)
    }

    @Test("a key another endpoint publishes is refused naming it; the same port of the other protocol is fine")
    func sameKey() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            _ = try host.container("owner", ports: ["8080:80", "\(Host.hostLAN):9090:80/udp"])
            try expectRefused(host, ports: ["8080:81"], code: .conflict, ["tcp 0.0.0.0:8080", "endpoint owner"])
            try expectRefused(host, ports: ["\(Host.hostLAN):9090:53/udp"], code: .conflict, ["udp \(Host.hostLAN):9090", "endpoint owner"])
            // Listed twice in one request.
            try expectRefused(host, ports: ["7000:80", "7000:81"], code: .conflict, ["tcp 0.0.0.0:7000", "of the same request"])
            // The owner still answers.
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("owner", .tcp, peer: Host.peerLAN))
            // Protocol is part of the key.
            let other = try host.container("other", ports: ["8080:80/udp"])
            #expect(other.endpoint.ports.count == 1)
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080, .udp) == echo("other", .udp, peer: Host.peerLAN))
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("owner", .tcp, peer: Host.peerLAN))
        }
    }

    @Test("a wildcard and a specific address on the same port clash, in either order")
    func wildcardVersusAddress() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let ns1 = try host.namespace(), ns2 = try host.namespace()
            try host.attach(ns1, id: "wild", ports: ["8080:80"])
            try expectRefused(host, ports: ["\(Host.hostLAN):8080:80"], code: .conflict, ["tcp \(Host.hostLAN):8080", "endpoint wild"])
            try expectRefused(host, ports: ["127.0.0.1:8080:80"], code: .conflict, ["endpoint wild"])
            try host.attach(ns2, id: "specific", ports: ["\(Host.hostLAN):9090:80"])
            try expectRefused(host, ports: ["9090:80"], code: .conflict, ["tcp 0.0.0.0:9090", "endpoint specific"])
            // Two different specific addresses do not clash.
            let ns3 = try host.namespace()
            #expect(try host.attach(ns3, id: "loop", ports: ["127.0.0.1:9090:80"]).ports.count == 1)
        }
    }

    @Test("a port a host process listens on is refused naming the process")
    func hostListener() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let tcp = try EchoServer(in: sandbox.namespace, port: 8080, protocol: .tcp, banner: "host")
            let udp = try EchoServer(in: sandbox.namespace, address: "127.0.0.1", port: 5353, protocol: .udp, banner: "host")
            defer { tcp.stop(); udp.stop() }
            let me = "(pid \(getpid()))"
            try expectRefused(host, ports: ["8080:80"], code: .conflict, ["tcp 0.0.0.0:8080", "in use on the host by process", me])
            try expectRefused(host, ports: ["\(Host.hostLAN):8080:80"], code: .conflict, [me])
            try expectRefused(host, ports: ["5353:53/udp"], code: .conflict, ["udp 0.0.0.0:5353", me])
            try expectRefused(host, ports: ["127.0.0.1:5353:53/udp"], code: .conflict, [me])
            // A UDP socket does not hold the TCP port, nor 127.0.0.1 the LAN address.
            let ns = try host.namespace()
            #expect(try host.attach(ns, id: "ok", ports: ["5353:53", "\(Host.hostLAN):5353:53/udp"]).ports.count == 2)
        }
    }

    @Test("host addresses Berth cannot publish on are refused with a reason")
    func badHostAddresses() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            try expectRefused(host, ports: ["[::1]:8080:80"], code: .invalidArgument, ["[::1] cannot reach an IPv4-only container"])
            try expectRefused(host, ports: ["[2001:db8::1]:8080:80"], code: .invalidArgument, ["IPv6 host address 2001:db8::1"])
            try expectRefused(host, ports: ["198.51.100.7:8080:80"], code: .invalidArgument, ["198.51.100.7", "not an address of this host"])
            // The mistake in the last spec refuses the whole request.
            try expectRefused(host, ports: ["8080:80", "8081:80", "198.51.100.7:8082:80"], code: .invalidArgument, ["198.51.100.7"])
        }
    }

    @Test("-p on an internal network is refused")
    func internalNetwork() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox, internalNetwork: true)
            try expectRefused(host, ports: ["8080:80"], code: .invalidArgument, ["internal"])
            let ns = try host.namespace()
            #expect(try host.attach(ns, id: "plain", ports: []).ports.isEmpty)
        }
    }

    @Test("the kernel refusing the 3rd of 4 elements leaves no element, no veth and no record; the request then succeeds once the key is free")
    func kernelRefusalIsAtomic() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            // A key the state does not know: only the kernel can refuse it.
            let stray = sandbox.run(["nft", "add", "element", "ip", "berth", "publish_any", "{ tcp . 8102 : 10.88.0.99 . 80 }"])
            try #require(stray.succeeded, "\(stray)")
            let ports = ["8100:80", "8101:80", "8102:80", "8103:80/udp"]
            try expectRefused(host, id: "batch", ports: ports, code: .conflict, ["batch", "already in Berth's nftables maps"])
            #expect(host.elements(of: "batch").isEmpty)

            let removed = sandbox.run(["nft", "delete", "element", "ip", "berth", "publish_any", "{ tcp . 8102 }"])
            try #require(removed.succeeded, "\(removed)")
            let c1 = try host.container("batch", ports: ports)
            // The failed attempt released its address lease.
            #expect(c1.endpoint.address?.description == "10.88.0.2")
            #expect(host.elements(of: "batch").count == 4)
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8102) == echo("batch", .tcp, peer: Host.peerLAN))
        }
    }

    @Test("detach restores the ruleset exactly; the other endpoints' ports keep working")
    func detachRestores() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            _ = try host.container("stays", ports: ["9090:80", "9090:80/udp"])
            let before = host.ruleset()
            let gone = try host.container("goes", ports: ["8080:80", "\(Host.hostLAN):8081:80/udp", "127.0.0.1:8082:80", "8000-8001:80-81", "7000:70/sctp"])
            #expect(host.elements(of: "goes").count == 6)
            #expect(host.elements(of: "goes").contains { $0.contains("sctp . 7000") })
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("goes", .tcp, peer: Host.peerLAN))

            try host.manager.detach(id: gone.endpoint.id)
            #expect(host.ruleset() == before)
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080, timeout: 1) == nil)
            for proto in [ProbeProtocol.tcp, .udp] {
                #expect(exchange(from: host.lan.namespace, Host.hostLAN, 9090, proto) == echo("stays", proto, peer: Host.peerLAN))
            }
            // The freed keys can be published again.
            let again = try host.container("again", ports: ["8080:80"])
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("again", .tcp, peer: Host.peerLAN))
            #expect(again.endpoint.ports.count == 1)
        }
    }
}
