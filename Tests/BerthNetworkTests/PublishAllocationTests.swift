import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Host ports Berth chooses: `-p 80` from the host's ephemeral range, `-p 8000-8002:80` the
/// first free one of the range, skipping ports held by endpoints or host processes.
@Suite("Port publishing: chosen host ports (kernel)", .enabled(if: try KernelTests.enabled))
struct PublishAllocationTests {
    typealias Host = PublishHost

    @Test("-p 80 takes a port from the host namespace's ip_local_port_range, and is refused once the range is full")
    func ephemeral() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            try sandbox.namespace.setSysctl("net/ipv4/ip_local_port_range", to: "41000 41001")
            let c1 = try host.container("c1", ports: ["80", "127.0.0.1::80/udp"])
            let tcp = try #require(c1.endpoint.ports.first { $0.key.proto == .tcp })
            let udp = try #require(c1.endpoint.ports.first { $0.key.proto == .udp })
            #expect((41000...41001).contains(tcp.key.hostPort) && (41000...41001).contains(udp.key.hostPort))
            #expect(tcp.key.hostAddress.isUnspecified && udp.key.hostAddress.description == "127.0.0.1")
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, tcp.key.hostPort) == echo("c1", .tcp, peer: Host.peerLAN))
            #expect(exchange(from: sandbox.namespace, "127.0.0.1", udp.key.hostPort, .udp) == echo("c1", .udp, peer: Host.gateway))

            let c2 = try host.container("c2", ports: ["80"])
            #expect(c2.endpoint.ports.map(\.key.hostPort) == [tcp.key.hostPort == 41000 ? 41001 : 41000])
            let ns = try host.namespace()
            let error = #expect(throws: BerthError.self) { try host.attach(ns, id: "c3", ports: ["80"]) }
            #expect(error?.code == .conflict)
            #expect(error?.message.contains("no free host port") == true && error?.message.contains("41000-41001") == true, "\(String(describing: error))")
        }
    }

    @Test("-p 9000-9001 (no host port) publishes both container ports, each on an ephemeral port of its own: bytes reach each through its port")
    func containerRangeWithoutHostPorts() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            try sandbox.namespace.setSysctl("net/ipv4/ip_local_port_range", to: "41000 41009")
            let c1 = try host.container("c1", ports: ["9000-9001"], serverPorts: [9000, 9001])
            let ports = c1.endpoint.ports
            #expect(ports.map(\.containerPort) == [9000, 9001])
            #expect(Set(ports.map(\.key.hostPort)).count == 2 && ports.allSatisfy { (41000...41009).contains($0.key.hostPort) })
            for mapping in ports {
                #expect(exchange(from: host.lan.namespace, Host.hostLAN, mapping.key.hostPort)
                        == echo("c1", .tcp, mapping.containerPort, peer: Host.peerLAN))
            }
        }
    }

    @Test("-p 8000-8002:80 takes the first host port of the range that no endpoint and no host process holds")
    func rangeChoice() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let listener = try EchoServer(in: sandbox.namespace, port: 8000, banner: "host")
            defer { listener.stop() }
            let c1 = try host.container("c1", ports: ["8000-8002:80"])
            #expect(c1.endpoint.ports.map(\.key.hostPort) == [8001])
            let c2 = try host.container("c2", ports: ["8000-8002:80"])
            #expect(c2.endpoint.ports.map(\.key.hostPort) == [8002])
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8001) == echo("c1", .tcp, peer: Host.peerLAN))
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8002) == echo("c2", .tcp, peer: Host.peerLAN))
            // The host process keeps its port.
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8000) == "host \(Host.peerLAN) ping")
            let ns = try host.namespace()
            let error = #expect(throws: BerthError.self) { try host.attach(ns, id: "c3", ports: ["8000-8002:80"]) }
            #expect(error?.code == .conflict && error?.message.contains("no free host port") == true, "\(String(describing: error))")
        }
    }

    @Test("a host process on one port of a one-to-one range refuses the whole range")
    func listenerInsideRange() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let listener = try EchoServer(in: sandbox.namespace, port: 8001, protocol: .udp, banner: "host")
            defer { listener.stop() }
            let before = try host.snapshot()
            let ns = try host.namespace()
            let error = #expect(throws: BerthError.self) { try host.attach(ns, id: "r", ports: ["8000-8002:9000-9002/udp"]) }
            #expect(error?.code == .conflict && error?.message.contains("udp 0.0.0.0:8001") == true, "\(String(describing: error))")
            #expect(try host.snapshot() == before)
            // TCP on the same ports is free.
            #expect(try host.attach(ns, id: "r", ports: ["8000-8002:9000-9002"]).ports.count == 3)
        }
    }
}
