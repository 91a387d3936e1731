import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// Conntrack of IPv6 flows over ctnetlink (AF_INET6 dumps and deletions) against the kernel:
/// the stale-entry problem of a v6 UDP publish and its fix, and removing a container's v6
/// flows by address, as Berth does on attach and detach (docs/ipv6.md).
@Suite("Conntrack IPv6 (kernel)", .enabled(if: try KernelTests.enabled))
struct ConntrackIPv6KernelTests {
    @Test("a v6 UDP flow older than its DNAT rule is forwarded only after deleteEntries")
    func staleFlowForwardedAfterCleanup() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            try Self.connect(sandbox, container, host: "fd00:78::1", container: "fd00:78::2")
            let servers = [try EchoServer(in: container, address: "::", port: 9000, protocol: .udp, banner: "ctr"),
                           try EchoServer(in: sandbox.namespace, address: "fd00:78::1", port: 8080, protocol: .udp, banner: "host")]
            defer { servers.forEach { $0.stop() } }
            try Self.nft(sandbox, """
            table ip6 n {
                chain out { type nat hook output priority -100; ip6 daddr fd00:78::1 udp dport 8081 dnat to [fd00:78::2]:9000; }
            }
            """)
            func probe(from sourcePort: UInt16 = 45000) -> String {
                do {
                    return try Probe.request(from: sandbox.namespace, to: "fd00:78::1", port: 8080, protocol: .udp, timeout: 3, sourcePort: sourcePort)
                } catch {
                    return "\(error)"
                }
            }
            #expect(probe().hasPrefix("host "))
            try Self.nft(sandbox, "add rule ip6 n out ip6 daddr fd00:78::1 udp dport 8080 dnat to [fd00:78::2]:9000")
            #expect(probe().hasPrefix("host "), "the flow keeps the entry it got before the rule")
            #expect(probe(from: 45001).hasPrefix("ctr "), "a new source port is forwarded at once")

            let conntrack = try Conntrack(namespace: sandbox.namespace)
            let hostAddress = try IPAddress(parsing: "fd00:78::1")
            let flows = try conntrack.entries(matching: .destinationPort(8080, protocol: .udp, address: hostAddress))
            #expect(flows.allSatisfy { $0.family == .ipv6 })
            #expect(flows.contains { $0.original.sourcePort == 45000 && !$0.isDestinationNAT })
            #expect(flows.contains { $0.original.sourcePort == 45001 && $0.isDestinationNAT && $0.reply.source == (try? IPAddress(parsing: "fd00:78::2")) })
            #expect(try conntrack.deleteEntries(matching: .destinationPort(8080, protocol: .udp, address: hostAddress)) == 2)
            #expect(probe().hasPrefix("ctr fd00:78::1 "))
        }
    }

    @Test("deleteEntries by a container's v6 address removes its flows, including DNATed ones, and no v4 flow")
    func deleteByAddress() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            try Self.connect(sandbox, container, host: "fd00:79::1", container: "fd00:79::2")
            let server = try EchoServer(in: container, address: "::", port: 9000, protocol: .udp, banner: "ctr")
            defer { server.stop() }
            try Self.nft(sandbox, """
            table ip6 n {
                chain out { type nat hook output priority -100; ip6 daddr fd00:79::1 udp dport 8080 dnat to [fd00:79::2]:9000; }
            }
            table ip t {
                chain c { type filter hook output priority 0; ct state new counter; }
            }
            """)
            #expect(try Probe.request(from: sandbox.namespace, to: "fd00:79::1", port: 8080, protocol: .udp, timeout: 3, sourcePort: 46000).hasPrefix("ctr "))
            #expect(try Probe.request(from: sandbox.namespace, to: "fd00:79::2", port: 9000, protocol: .udp, timeout: 3, sourcePort: 46001).hasPrefix("ctr "))
            // Nothing listens there: the IPv4 entry is made either way.
            _ = try? Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 9, protocol: .udp, timeout: 0.2, sourcePort: 46002)
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            #expect(try conntrack.entries(family: .ipv4).contains { $0.original.sourcePort == 46002 })
            #expect(try conntrack.deleteEntries(matching: .address(IPAddress(parsing: "fd00:79::2"))) == 2)
            #expect(try conntrack.entries(family: .ipv6).filter { $0.original.transportProtocol == .udp }.isEmpty)
            #expect(try conntrack.entries(family: .ipv4).contains { $0.original.sourcePort == 46002 })
        }
    }

    // MARK: - Fixtures

    private static func nft(_ sandbox: HostSandbox, _ script: String) throws {
        let result = sandbox.run(["nft", "-f", "-"], input: script)
        if !result.succeeded { throw SandboxError("nft -f failed: \(result)") }
    }

    /// A veth between the sandbox and `container`, /64 at both ends, addresses usable at once
    /// (nodad, added once the links are up). The first neighbour solicitation may still go
    /// unanswered for up to a second (docs/ipv6.md), so probes that expect an answer wait 3 s.
    private static func connect(_ sandbox: HostSandbox, _ container: NetworkNamespace, host: String, container address: String) throws {
        let name = try #require(container.name)
        let hostLink = "v" + String(name.suffix(12))
        for argv in [["ip", "link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", name],
                     ["ip", "link", "set", hostLink, "up"], ["ip", "addr", "add", host + "/64", "dev", hostLink, "nodad"],
                     ["ip", "-n", name, "link", "set", "eth0", "up"], ["ip", "-n", name, "link", "set", "lo", "up"],
                     ["ip", "-n", name, "addr", "add", address + "/64", "dev", "eth0", "nodad"],
                     ["ip", "-n", name, "-6", "route", "add", "default", "via", host]] {
            let result = sandbox.run(argv)
            if !result.succeeded { throw SandboxError("\(argv.joined(separator: " ")): \(result)") }
        }
    }
}
