import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// A sandbox host with network "web" (10.88.0.0/24, gateway 10.88.0.1) and a LAN peer
/// (host 192.0.2.1, peer 192.0.2.2), for the port publishing tests.
struct PublishHost {
    let sandbox: HostSandbox
    let manager: NetworkManager
    let lan: LANNeighbor

    static let subnet = "10.88.0.0/24"
    static let gateway = "10.88.0.1"
    static let hostLAN = LANNeighbor.hostAddress
    static let peerLAN = LANNeighbor.address

    init(_ sandbox: HostSandbox, internalNetwork: Bool = false) throws {
        self.sandbox = sandbox
        lan = try sandbox.makeLANNeighbor()
        manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
        try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: Self.subnet), isInternal: internalNetwork))
    }

    /// A fresh container namespace.
    func namespace() throws -> NetworkNamespace { try sandbox.makeNamespace() }

    /// Attaches `namespace` to `network` with `ports` (docker -p specs).
    @discardableResult
    func attach(_ namespace: NetworkNamespace, id: String, ports: [String], network: String = "web") throws(BerthError) -> EndpointRecord {
        let specs = try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }
        return try manager.attach(AttachOptions(network: network, namespace: .open(namespace), id: id, ports: specs))
    }

    /// A container with TCP and UDP echo servers on `serverPorts`, attached with `ports`.
    /// The servers answer `"<id>/<proto>:<port> <peer> <payload>"`.
    func container(_ id: String, ports: [String], serverPorts: [UInt16] = [80]) throws -> Container {
        let ns = try namespace()
        var servers: [EchoServer] = []
        for port in serverPorts {
            servers.append(try EchoServer(in: ns, port: port, protocol: .tcp, banner: "\(id)/tcp:\(port)"))
            servers.append(try EchoServer(in: ns, port: port, protocol: .udp, banner: "\(id)/udp:\(port)"))
        }
        let endpoint = try attach(ns, id: id, ports: ports)
        return Container(namespace: ns, endpoint: endpoint, servers: servers)
    }

    /// The host's whole nftables ruleset, as `nft list ruleset` prints it.
    func ruleset() -> String { sandbox.run(["nft", "list", "ruleset"]).stdout }

    /// What a refused request must leave as it was: ruleset, links, addresses, endpoints.
    func snapshot() throws -> Snapshot {
        let links = sandbox.run(["ip", "-o", "link", "show"]).stdout
            .split(separator: "\n").compactMap { $0.split(separator: ":", maxSplits: 2).dropFirst().first?.trimmingCharacters(in: .whitespaces) }
        let addresses = sandbox.run(["ip", "-o", "-4", "addr", "show"]).stdout
            .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(4).dropFirst().joined(separator: " ") }
        return Snapshot(ruleset: ruleset(), links: links.sorted(), addresses: addresses.sorted(),
                        endpoints: try manager.endpoints().map { "\($0.id) \($0.addresses) \($0.ports)" })
    }

    /// The map elements of `endpoint` in the kernel, by their comment.
    func elements(of endpointID: String) -> [String] {
        ruleset().split(separator: "\n").filter { $0.contains("\"berth-endpoint \(endpointID) @") }.map(String.init)
    }

    /// The handle of the guard rule whose text contains `fragment`.
    func guardRuleHandle(containing fragment: String) throws -> String {
        let listing = sandbox.run(["nft", "-a", "list", "chain", "ip", "berth", "guard"]).stdout
        let line = try #require(listing.split(separator: "\n").first { $0.contains(fragment) }, "no guard rule with \(fragment) in:\n\(listing)")
        return try #require(line.components(separatedBy: "# handle ").last?.trimmingCharacters(in: .whitespaces))
    }

    func deleteGuardRule(containing fragment: String) throws {
        let handle = try guardRuleHandle(containing: fragment)
        let result = sandbox.run(["nft", "delete", "rule", "ip", "berth", "guard", "handle", handle])
        try #require(result.succeeded, "\(result)")
    }
}

struct Container {
    let namespace: NetworkNamespace
    let endpoint: EndpointRecord
    let servers: [EchoServer]
}

struct Snapshot: Equatable {
    var ruleset: String
    var links: [String]
    var addresses: [String]
    var endpoints: [String]
}

/// One request through a published port; the reply, or nil when nothing answered.
func exchange(from namespace: NetworkNamespace, _ address: String, _ port: UInt16, _ proto: ProbeProtocol = .tcp,
              payload: String = "ping", timeout: Double = 2) -> String? {
    try? Probe.request(from: namespace, to: address, port: port, protocol: proto, payload: payload, timeout: timeout)
}

/// The reply an echo server of `PublishHost.container` gives.
func echo(_ id: String, _ proto: ProbeProtocol, _ port: UInt16 = 80, peer: String, _ payload: String = "ping") -> String {
    "\(id)/\(proto == .tcp ? "tcp" : "udp"):\(port) \(peer) \(payload)"
}
