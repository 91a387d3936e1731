import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// Conntrack over ctnetlink against the kernel, each test in its own sandbox. The oracle is
/// /proc/net/nf_conntrack read from inside the sandbox (it follows the reader's network
/// namespace); the behaviour test proves the stale-entry problem and its fix with traffic.
@Suite("Conntrack (kernel)", .enabled(if: try KernelTests.enabled))
struct ConntrackKernelTests {
    private let loopback = IPAddress.v4(IPv4Address(127, 0, 0, 1))

    @Test("entries lists UDP flows with both tuples, as /proc/net/nf_conntrack shows them")
    func listsFlows() throws {
        try withHostSandbox { sandbox in
            try Self.trackLocalTraffic(sandbox)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7001, sourcePort: 40001)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.2", port: 7002, sourcePort: 40002)

            let entries = try Conntrack(namespace: sandbox.namespace).entries(family: .ipv4)
            let first = try #require(entries.first { $0.original.destinationPort == 7001 })
            #expect(first.family == .ipv4 && first.original.transportProtocol == .udp)
            #expect(first.original.source == loopback && first.original.destination == loopback && first.original.sourcePort == 40001)
            #expect(first.reply.sourcePort == 7001 && first.reply.destinationPort == 40001 && first.reply.source == loopback)
            #expect(first.status.contains(.confirmed) && !first.isDestinationNAT)
            #expect((first.timeout ?? 0) > 0 && first.id != nil)
            let second = try #require(entries.first { $0.original.destinationPort == 7002 })
            #expect(second.original.destination == .v4(IPv4Address(127, 0, 0, 2)))

            let oracle = Self.procEntries(sandbox)
            #expect(oracle.contains { $0.contains("udp") && $0.contains("sport=40001 dport=7001") })
            #expect(Set(entries.map { "\($0.original.sourcePort ?? 0)>\($0.original.destinationPort ?? 0)" })
                    == Set(oracle.compactMap(Self.originalPorts)))
            #expect(try Conntrack(namespace: sandbox.namespace).entries(family: .ipv6).isEmpty)
        }
    }

    @Test("deleteEntries by destination port removes those flows and keeps the others")
    func deleteByPort() throws {
        try withHostSandbox { sandbox in
            try Self.trackLocalTraffic(sandbox)
            for source: UInt16 in [41001, 41002] { try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7101, sourcePort: source) }
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7102, sourcePort: 41003)
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            #expect(try conntrack.entries(matching: .destinationPort(7101, protocol: .udp)).count == 2)
            // The TCP port of the same number is another publish.
            #expect(try conntrack.deleteEntries(matching: .destinationPort(7101, protocol: .tcp)) == 0)
            // A publish bound to another host address leaves these flows alone.
            #expect(try conntrack.deleteEntries(matching: .destinationPort(7101, protocol: .udp, address: IPAddress(parsing: "127.0.0.9"))) == 0)

            #expect(try conntrack.deleteEntries(matching: .destinationPort(7101, protocol: .udp, address: loopback)) == 2)
            let left = try conntrack.entries()
            #expect(!left.contains { $0.original.destinationPort == 7101 })
            #expect(left.contains { $0.original.destinationPort == 7102 })
            let oracle = Self.procEntries(sandbox)
            #expect(!oracle.contains { $0.contains("dport=7101") })
            #expect(oracle.contains { $0.contains("dport=7102") })
        }
    }

    @Test("deleteEntries by address removes the flows of that address only; delete of a gone entry is false")
    func deleteByAddress() throws {
        try withHostSandbox { sandbox in
            try Self.trackLocalTraffic(sandbox)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.2", port: 7201, sourcePort: 42001)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.2", port: 7202, sourcePort: 42002)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7203, sourcePort: 42003)
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            let doomed = try conntrack.entries(matching: .address(IPAddress(parsing: "127.0.0.2")))
            #expect(doomed.count == 2)

            #expect(try conntrack.deleteEntries(matching: .address(IPAddress(parsing: "127.0.0.2"))) == 2)
            let left = try conntrack.entries()
            #expect(!left.contains { $0.original.destination == .v4(IPv4Address(127, 0, 0, 2)) })
            #expect(left.contains { $0.original.destinationPort == 7203 })
            #expect(!Self.procEntries(sandbox).contains { $0.contains("dst=127.0.0.2") })
            #expect(try conntrack.delete(doomed[0]) == false)
            // A batch of entries that are all gone is not an error either, nor one where only
            // some are: the others go.
            #expect(try conntrack.delete(doomed) == 2)
            let live = try #require(try conntrack.entries(matching: .destinationPort(7203, protocol: .udp)).first)
            #expect(try conntrack.delete([doomed[0], live, doomed[1]]) == 3)
            #expect(try conntrack.entries(matching: .destinationPort(7203, protocol: .udp)).isEmpty)
        }
    }

    @Test("a delete whose id is not the entry's leaves the entry (the kernel checks CTA_ID)")
    func deleteChecksID() throws {
        try withHostSandbox { sandbox in
            try Self.trackLocalTraffic(sandbox)
            try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7301, sourcePort: 43001)
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            let entry = try #require(conntrack.entries(matching: .destinationPort(7301, protocol: .udp)).first)
            let id = try #require(entry.id)
            let other = ConntrackEntry(family: entry.family, original: entry.original, reply: entry.reply, id: id &+ 1)
            #expect(try conntrack.delete(other) == false)
            #expect(try conntrack.entries(matching: .destinationPort(7301, protocol: .udp)).count == 1)
            #expect(try conntrack.delete(entry))
            #expect(try conntrack.entries(matching: .destinationPort(7301, protocol: .udp)).isEmpty)
        }
    }

    @Test("the stale-conntrack problem: a UDP flow older than its DNAT rule is forwarded only after deleteEntries")
    func staleFlowForwardedAfterCleanup() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            try Self.connect(sandbox, container, host: "10.78.0.1", container: "10.78.0.2")
            // Something on the host answers the port before it is published, so the stale
            // phase shows who answers instead of mere silence. Another port is already
            // published: an empty nat chain alone does not switch conntrack on here, a dnat
            // rule does.
            let servers = [try EchoServer(in: container, port: 9000, protocol: .udp, banner: "ctr"),
                           try EchoServer(in: sandbox.namespace, address: "10.78.0.1", port: 8080, protocol: .udp, banner: "host")]
            defer { servers.forEach { $0.stop() } }
            try Self.nft(sandbox, """
            table ip n {
                chain pre { type nat hook prerouting priority -100; }
                chain out { type nat hook output priority -100; ip daddr 10.78.0.1 udp dport 8081 dnat to 10.78.0.2:9000; }
            }
            """)
            func probe(from sourcePort: UInt16 = 45000) -> String {
                do {
                    return try Probe.request(from: sandbox.namespace, to: "10.78.0.1", port: 8080, protocol: .udp, timeout: 1, sourcePort: sourcePort)
                } catch {
                    return "\(error)"
                }
            }
            #expect(probe().hasPrefix("host "))
            try Self.nft(sandbox, "add rule ip n out ip daddr 10.78.0.1 udp dport 8080 dnat to 10.78.0.2:9000")
            #expect(probe().hasPrefix("host "), "the flow keeps the entry it got before the rule")
            #expect(probe(from: 45001).hasPrefix("ctr "), "a new source port is forwarded at once")

            let conntrack = try Conntrack(namespace: sandbox.namespace)
            let flows = try conntrack.entries(matching: .destinationPort(8080, protocol: .udp))
            #expect(flows.contains { $0.original.sourcePort == 45000 && !$0.isDestinationNAT })
            #expect(flows.contains { $0.original.sourcePort == 45001 && $0.isDestinationNAT && $0.reply.source == .v4(IPv4Address(10, 78, 0, 2)) })
            #expect(try conntrack.deleteEntries(matching: .destinationPort(8080, protocol: .udp, address: IPAddress(parsing: "10.78.0.1"))) == 2)
            #expect(probe().hasPrefix("ctr 10.78.0.1 "))
        }
    }

    @Test("a host port moved to another container: the old flow follows only after deleteEntries")
    func movedPort() throws {
        try withHostSandbox { sandbox in
            let first = try sandbox.makeNamespace(), second = try sandbox.makeNamespace()
            try Self.connect(sandbox, first, host: "10.79.0.1", container: "10.79.0.2")
            try Self.connect(sandbox, second, host: "10.79.1.1", container: "10.79.1.2")
            let servers = [try EchoServer(in: first, port: 9000, protocol: .udp, banner: "first"),
                           try EchoServer(in: second, port: 9000, protocol: .udp, banner: "second")]
            defer { servers.forEach { $0.stop() } }
            try Self.nft(sandbox, """
            table ip n {
                chain out { type nat hook output priority -100; ip daddr 10.79.0.1 udp dport 8080 dnat to 10.79.0.2:9000; }
            }
            """)
            func probe() -> String {
                do {
                    return try Probe.request(from: sandbox.namespace, to: "10.79.0.1", port: 8080, protocol: .udp, timeout: 1, sourcePort: 46000)
                } catch {
                    return "\(error)"
                }
            }
            #expect(probe().hasPrefix("first "))
            try Self.nft(sandbox, "flush chain ip n out\nadd rule ip n out ip daddr 10.79.0.1 udp dport 8080 dnat to 10.79.1.2:9000")
            #expect(probe().hasPrefix("first "), "the old entry still leads to the first container")
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            // On detach Berth removes the old container's flows by address.
            #expect(try conntrack.deleteEntries(matching: .address(IPAddress(parsing: "10.79.0.2"))) == 1)
            #expect(probe().hasPrefix("second "))
        }
    }

    @Test("timing: deleteEntries with about 100 matching entries among others (printed)")
    func timing() throws {
        try withHostSandbox { sandbox in
            try Self.trackLocalTraffic(sandbox)
            for source in UInt16(30000)..<30100 { try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7401, sourcePort: source) }
            for source in UInt16(31000)..<31020 { try Self.sendUDP(from: sandbox.namespace, to: "127.0.0.1", port: 7402, sourcePort: source) }
            let conntrack = try Conntrack(namespace: sandbox.namespace)
            let clock = ContinuousClock()
            var total = 0
            let fullDump = try clock.measure { total = try conntrack.entries().count }
            let buckets = sandbox.run(["cat", "/proc/sys/net/netfilter/nf_conntrack_buckets"]).stdout.filter(\.isNumber)
            var deleted = 0
            let elapsed = try clock.measure {
                deleted = try conntrack.deleteEntries(matching: .destinationPort(7401, protocol: .udp))
            }
            let listing = try clock.measure { _ = try conntrack.entries() }
            print("conntrack timing: a dump of \(total) entries took \(fullDump); deleteEntries (dump + deletions) removed \(deleted) in \(elapsed); "
                  + "a dump of the remaining \(total - deleted) took \(listing); hash table of \(buckets) buckets")
            #expect(deleted == 100)
            let left = try conntrack.entries()
            #expect(!left.contains { $0.original.destinationPort == 7401 })
            #expect(left.count { $0.original.destinationPort == 7402 } == 20)
        }
    }

    // MARK: - Fixtures

    /// Conntrack only tracks a namespace's traffic once something uses it: a rule matching
    /// `ct state` on the output hook makes locally sent packets create entries.
    private static func trackLocalTraffic(_ sandbox: HostSandbox) throws {
        try nft(sandbox, """
        table ip t {
            chain c { type filter hook output priority 0; ct state new counter; }
        }
        """)
    }

    private static func nft(_ sandbox: HostSandbox, _ script: String) throws {
        let result = sandbox.run(["nft", "-f", "-"], input: script)
        if !result.succeeded { throw SandboxError("nft -f failed: \(result)") }
    }

    /// A veth between the sandbox and `container`, addressed /24 at both ends.
    private static func connect(_ sandbox: HostSandbox, _ container: NetworkNamespace, host: String, container address: String) throws {
        let name = try #require(container.name)
        let hostLink = "v" + String(name.suffix(12))
        for argv in [["ip", "link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", name],
                     ["ip", "addr", "add", host + "/24", "dev", hostLink], ["ip", "link", "set", hostLink, "up"],
                     ["ip", "-n", name, "addr", "add", address + "/24", "dev", "eth0"],
                     ["ip", "-n", name, "link", "set", "eth0", "up"], ["ip", "-n", name, "link", "set", "lo", "up"],
                     // Answers to a DNATed flow go back to the host's other addresses too.
                     ["ip", "-n", name, "route", "add", "default", "via", host]] {
            let result = sandbox.run(argv)
            if !result.succeeded { throw SandboxError("\(argv.joined(separator: " ")): \(result)") }
        }
    }

    /// Sends one UDP datagram from a fixed source port; nothing needs to listen, the entry is
    /// made either way.
    private static func sendUDP(from namespace: NetworkNamespace, to address: String, port: UInt16, sourcePort: UInt16) throws {
        let fd = try namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in(), remote = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = sourcePort.bigEndian
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &remote.sin_addr) == 1 else { throw SandboxError("bad address \(address)") }
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw SandboxError("bind to port \(sourcePort): errno \(errno)") }
        let sent = withUnsafePointer(to: &remote) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, "x", 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == 1 else { throw SandboxError("send to \(address):\(port): errno \(errno)") }
    }

    /// The sandbox's conntrack table as the kernel prints it, one entry a line.
    private static func procEntries(_ sandbox: HostSandbox) -> [String] {
        sandbox.run(["cat", "/proc/net/nf_conntrack"]).stdout.split(separator: "\n").map(String.init)
    }

    /// "sport>dport" of a /proc line's original direction (its first sport= and dport=).
    private static func originalPorts(_ line: String) -> String? {
        let fields = line.split(separator: " ")
        guard let sport = fields.first(where: { $0.hasPrefix("sport=") }), let dport = fields.first(where: { $0.hasPrefix("dport=") }) else { return nil }
        return "\(sport.dropFirst(6))>\(dport.dropFirst(6))"
    }
}
