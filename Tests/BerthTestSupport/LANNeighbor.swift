import BerthNamespace
import Foundation

/// A machine on the host's LAN, for tests of what the outside can and cannot reach: a
/// namespace joined to the sandbox by a veth pair, host side `lan0` 192.0.2.1/24 and
/// fd00:121::1/64, peer side `eth0` 192.0.2.2/24 and fd00:121::2/64 with default routes of
/// both families via the host. (The IPv6 addresses skip DAD, so they work at once.)
///
/// Its loopback stays down, so 127.0.0.0/8 is not local there and can be routed to the host
/// (an attacker's view of a host publishing on 127.0.0.1).
public struct LANNeighbor: Sendable {
    /// The peer's namespace.
    public let namespace: NetworkNamespace
    /// Its name under /run/netns.
    public let name: String
    /// The host's address on the LAN.
    public static let hostAddress = "192.0.2.1"
    /// The peer's address.
    public static let address = "192.0.2.2"
    /// The host's end of the LAN link.
    public static let hostInterface = "lan0"
    /// The host's IPv6 address on the LAN.
    public static let hostAddress6 = "fd00:121::1"
    /// The peer's IPv6 address.
    public static let address6 = "fd00:121::2"

    /// Sends traffic for `destination` (a CIDR or an address, of either family) to the host.
    public func route(_ destination: String) throws {
        let gateway = destination.contains(":") ? Self.hostAddress6 : Self.hostAddress
        let result = Command.run(["ip", "-n", name, "route", "add", destination, "via", gateway])
        if !result.succeeded { throw SandboxError("cannot route \(destination) from \(name) via the host: \(result.stderr)") }
    }

    /// Sends 127.0.0.1 to the host and accepts replies from 127.0.0.0/8 on the LAN link
    /// (route_localnet), as a hostile neighbour would.
    public func routeLoopbackToHost() throws {
        let sysctl = Command.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"])
        if !sysctl.succeeded { throw SandboxError("cannot set route_localnet in \(name): \(sysctl.stderr)") }
        try route("127.0.0.1/32")
    }
}

extension HostSandbox {
    /// Makes a LAN neighbour of the sandbox, deleted with it.
    public func makeLANNeighbor() throws -> LANNeighbor {
        let namespace = try makeNamespace("lan")
        guard let name = namespace.name else { throw SandboxError("the LAN namespace has no name") }
        let steps: [[String]] = [
            ["ip", "-n", self.name, "link", "add", LANNeighbor.hostInterface, "type", "veth", "peer", "name", "eth0", "netns", name],
            ["ip", "-n", self.name, "addr", "add", "\(LANNeighbor.hostAddress)/24", "dev", LANNeighbor.hostInterface],
            ["ip", "-n", self.name, "link", "set", LANNeighbor.hostInterface, "up"],
            ["ip", "-n", name, "addr", "add", "\(LANNeighbor.address)/24", "dev", "eth0"],
            ["ip", "-n", name, "link", "set", "eth0", "up"],
            // IPv6 addresses after the links are up: one added before answers neighbour
            // solicitations only once the link is ready, up to a second later (docs/ipv6.md).
            ["ip", "-n", self.name, "addr", "add", "\(LANNeighbor.hostAddress6)/64", "dev", LANNeighbor.hostInterface, "nodad"],
            ["ip", "-n", name, "addr", "add", "\(LANNeighbor.address6)/64", "dev", "eth0", "nodad"],
            ["ip", "-n", name, "route", "add", "default", "via", LANNeighbor.hostAddress],
            ["ip", "-n", name, "-6", "route", "add", "default", "via", LANNeighbor.hostAddress6],
        ]
        for step in steps {
            let result = Command.run(step)
            if !result.succeeded { throw SandboxError("LAN setup \(step.joined(separator: " ")) failed: \(result.stderr)") }
        }
        return LANNeighbor(namespace: namespace, name: name)
    }
}
