import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Bytes through published ports on every path a host has: from the host itself (its LAN
/// address, the gateway, 127.0.0.1), from a LAN peer, and back from containers (hairpin);
/// and the paths that must stay closed.
@Suite("Port publishing: traffic (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishTrafficTests {
    typealias Host = PublishHost

    @Test("TCP and UDP through a wildcard publish, from the host and from the LAN; the LAN client's own address reaches the container")
    func wildcard() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            _ = try host.container("c1", ports: ["8080:80", "8080:80/udp"])
            for proto in [ProbeProtocol.tcp, .udp] {
                // The host's own connections to the gateway or to loopback leave towards the
                // bridge masqueraded; to its LAN address they keep that address as source.
                #expect(exchange(from: sandbox.namespace, Host.gateway, 8080, proto, payload: "gw") == echo("c1", proto, peer: Host.gateway, "gw"))
                #expect(exchange(from: sandbox.namespace, "127.0.0.1", 8080, proto, payload: "lo") == echo("c1", proto, peer: Host.gateway, "lo"))
                #expect(exchange(from: sandbox.namespace, Host.hostLAN, 8080, proto, payload: "own") == echo("c1", proto, peer: Host.hostLAN, "own"))
                // No masquerade for outside clients: the container sees who called.
                #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080, proto, payload: "lan") == echo("c1", proto, peer: Host.peerLAN, "lan"))
            }
            // An unpublished port is not forwarded.
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8081, timeout: 1) == nil)
        }
    }

    @Test("a publish on a host address answers on that address only, not on the gateway nor on loopback")
    func hostAddress() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            _ = try host.container("c1", ports: ["\(Host.hostLAN):8081:80", "\(Host.hostLAN):8081:80/udp"])
            for proto in [ProbeProtocol.tcp, .udp] {
                #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8081, proto) == echo("c1", proto, peer: Host.peerLAN))
                #expect(exchange(from: sandbox.namespace, Host.hostLAN, 8081, proto) == echo("c1", proto, peer: Host.hostLAN))
                #expect(exchange(from: sandbox.namespace, Host.gateway, 8081, proto, timeout: 1) == nil)
                #expect(exchange(from: sandbox.namespace, "127.0.0.1", 8081, proto, timeout: 1) == nil)
            }
        }
    }

    @Test("a publish on a host address stops capturing once the address has left the host (a VIP failed over): traffic routed through the host reaches its new owner")
    func addressMovedAway() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let vip = "192.0.2.50"
            try #require(sandbox.run(["ip", "addr", "add", "\(vip)/32", "dev", LANNeighbor.hostInterface]).succeeded)
            _ = try host.container("c1", ports: ["\(vip):8081:80"])
            let c2 = try host.container("c2", ports: [])
            let lanServer = try EchoServer(in: host.lan.namespace, port: 8081, banner: "lan")
            defer { lanServer.stop() }
            // While the host holds it, the publish answers, from the LAN and from a container.
            #expect(exchange(from: host.lan.namespace, vip, 8081) == echo("c1", .tcp, peer: Host.peerLAN))
            #expect(exchange(from: c2.namespace, vip, 8081) == echo("c1", .tcp, peer: Host.gateway))
            // The address moves to the LAN peer; the element stays. A container's connection
            // to it is routed out to its new owner (masqueraded), not DNATed to c1.
            try #require(sandbox.run(["ip", "addr", "del", "\(vip)/32", "dev", LANNeighbor.hostInterface]).succeeded)
            try #require(Command.run(["ip", "-n", host.lan.name, "addr", "add", "\(vip)/32", "dev", "eth0"]).succeeded)
            #expect(host.elements(of: "c1").count == 1)
            #expect(exchange(from: c2.namespace, vip, 8081, payload: "moved") == "lan \(Host.hostLAN) moved")
        }
    }

    @Test("ranges of TCP and UDP ports map one to one")
    func ranges() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let c1 = try host.container("c1", ports: ["8000-8002:9000-9002", "8000-8002:9000-9002/udp"], serverPorts: [9000, 9001, 9002])
            #expect(c1.endpoint.ports.count == 6)
            for proto in [ProbeProtocol.tcp, .udp] {
                for offset: UInt16 in 0...2 {
                    #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8000 + offset, proto)
                            == echo("c1", proto, 9000 + offset, peer: Host.peerLAN))
                }
                #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8003, proto, timeout: 1) == nil)
            }
        }
    }

    @Test("hairpin: a container reaches its own and a sibling's published port through the host, masqueraded to the gateway")
    func hairpin() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let c1 = try host.container("c1", ports: ["8080:80", "8080:80/udp"])
            let c2 = try host.container("c2", ports: [])
            for proto in [ProbeProtocol.tcp, .udp] {
                // Without masquerade the reply would go straight over the bridge from the
                // container's own address, which the client does not expect.
                #expect(exchange(from: c1.namespace, Host.hostLAN, 8080, proto, payload: "self") == echo("c1", proto, peer: Host.gateway, "self"))
                #expect(exchange(from: c2.namespace, Host.hostLAN, 8080, proto, payload: "sib") == echo("c1", proto, peer: Host.gateway, "sib"))
                #expect(exchange(from: c2.namespace, Host.gateway, 8080, proto, payload: "gw") == echo("c1", proto, peer: Host.gateway, "gw"))
            }
        }
    }

    @Test("127.0.0.1 publish: the host reaches it, a LAN peer that routes 127.0.0.1 to the host gets nothing, because of the guard")
    func loopbackOnly() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            _ = try host.container("c1", ports: ["127.0.0.1:8080:80", "127.0.0.1:8080:80/udp"])
            try host.lan.routeLoopbackToHost()
            for proto in [ProbeProtocol.tcp, .udp] {
                #expect(exchange(from: sandbox.namespace, "127.0.0.1", 8080, proto) == echo("c1", proto, peer: Host.gateway))
                #expect(exchange(from: host.lan.namespace, "127.0.0.1", 8080, proto, timeout: 1) == nil)
            }
            // Control: the LAN's packets do reach the host and would be forwarded; the guard
            // rule alone stops them. (The guard drops before conntrack, so no state is left
            // from the refused attempts.)
            try host.deleteGuardRule(containing: "127.0.0.0/8")
            for proto in [ProbeProtocol.tcp, .udp] {
                #expect(exchange(from: host.lan.namespace, "127.0.0.1", 8080, proto) == echo("c1", proto, peer: Host.peerLAN))
            }
        }
    }

    @Test("the host reaches its own service on the gateway address (it comes back in through lo); a LAN peer routing the subnet to the host does not")
    func hostToGateway() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            // What berth-dns is: a host service bound to the gateway, asked by the host too.
            let servers = [try EchoServer(in: sandbox.namespace, address: Host.gateway, port: 5300, protocol: .tcp, banner: "gw/tcp"),
                           try EchoServer(in: sandbox.namespace, address: Host.gateway, port: 5300, protocol: .udp, banner: "gw/udp")]
            defer { servers.forEach { $0.stop() } }
            for proto in [ProbeProtocol.tcp, .udp] {
                // From whichever of its addresses the host picks as the source.
                let reply = exchange(from: sandbox.namespace, Host.gateway, 5300, proto, payload: "own")
                #expect(reply?.hasPrefix("gw/\(proto == .tcp ? "tcp" : "udp") ") == true && reply?.hasSuffix(" own") == true, "\(String(describing: reply))")
            }
            // The guard still drops the gateway to a LAN peer that routes the subnet here.
            try host.lan.route(Host.subnet)
            #expect(exchange(from: host.lan.namespace, Host.gateway, 5300, timeout: 1) == nil)
            #expect(exchange(from: host.lan.namespace, Host.gateway, 5300, .udp, timeout: 1) == nil)
        }
    }

    @Test("a LAN peer routing the container subnet to the host cannot reach containers directly; the published port still works")
    func directAccessBlocked() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let c1 = try host.container("c1", ports: ["8080:80"])
            let address = "\(try #require(c1.endpoint.address))"
            try host.lan.route(Host.subnet)
            #expect(exchange(from: host.lan.namespace, address, 80, timeout: 1) == nil)
            #expect(exchange(from: host.lan.namespace, address, 80, .udp, timeout: 1) == nil)
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("c1", .tcp, peer: Host.peerLAN))
            // Control: without the network's guard rule the route does lead to the container.
            try host.deleteGuardRule(containing: Host.subnet)
            #expect(exchange(from: host.lan.namespace, address, 80) == echo("c1", .tcp, peer: Host.peerLAN))
        }
    }
}
