import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation
import Testing

@Suite("berth-dns in a host sandbox: hostile clients and limits", .serialized, .enabled(if: try DNSKernelTests.enabled, "needs root"))
struct ServerHostileKernelTests {
    /// Malformed datagrams that have a query header: each must get FORMERR with its id.
    static let formErrCases: [(String, [UInt8])] = [
        ("pointer to itself", header(id: 1) + hex("c00c 0001 0001")),
        ("two-name pointer loop", header(id: 2, qd: 2) + hex("01 61 c012 0001 0001 c00c 0001 0001")),
        ("forward pointer", header(id: 3) + hex("c010 0001 0001 00")),
        ("label over 63", header(id: 4) + [64] + [UInt8](repeating: 0x61, count: 64) + [0] + hex("0001 0001")),
        ("counts that lie", header(id: 5, qd: 1, an: 0xFFFF) + labels("web") + hex("0001 0001")),
        ("question cut short", header(id: 6) + labels("web") + hex("00")),
        ("trailing bytes", header(id: 7) + labels("web") + hex("0001 0001 dead")),
        ("two OPT records", header(id: 8, ar: 2) + labels("web") + hex("0001 0001") + hex("00 0029 1000 00000000 0000 00 0029 1000 00000000 0000")),
        ("oversized junk", header(id: 9) + [UInt8](repeating: 0xC0, count: 4000)),
    ]

    /// Datagrams that must get no reply at all.
    static let dropCases: [(String, [UInt8])] = [
        ("empty datagram", []),
        ("shorter than a header", hex("1234 0100 00")),
        ("a response", header(id: 10, flags: 0x8180) + labels("web") + hex("0001 0001")),
        ("a malformed response", header(id: 11, flags: 0x8000) + hex("c00c")),
    ]

    @Test("hostile datagrams get FORMERR or nothing, and the resolver keeps serving")
    func hostileUDP() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway
            for (label, bytes) in Self.formErrCases {
                let reply = try #require(try DNSClient.udp(bytes, from: fixture.front, to: gateway), "\(label)")
                let header = try #require(DNSHeader(reply))
                #expect(header.isResponse && header.responseCodeLow == 1, "\(label)")
                #expect(header.id == DNSHeader(bytes)?.id, "\(label)")
                #expect(reply.count == 12, "\(label): FORMERR carries no question")
            }
            for (label, bytes) in Self.dropCases {
                #expect(try DNSClient.udp(bytes, from: fixture.front, to: gateway, timeout: 0.3) == nil, "\(label)")
            }
            let after = try #require(try DNSClient.ask("web", from: fixture.front, to: gateway))
            #expect(after.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))])
            let stats = try server.statistics()
            #expect(stats["formerr"] == Self.formErrCases.count)
            #expect(stats["dropped"] == Self.dropCases.count)
            #expect(fixture.upstream.asked.isEmpty)
            #expect(server.terminate() == 0)
        }
    }

    @Test("hostile TCP: junk frames get FORMERR, an empty frame closes the connection, a stalled client blocks no one")
    func hostileTCP() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway

            // Half a frame, then nothing: the resolver must not wait for it.
            let stalled = try TCPStream(from: fixture.front, to: gateway)
            try stalled.send([0x01, 0x00] + header(id: 1))

            // A 65,535-byte frame of junk, then a good query on the same connection.
            let stream = try TCPStream(from: fixture.front, to: gateway)
            let junk = header(id: 0x0BAD) + [UInt8](repeating: 0xC0, count: 65535 - 12)
            try stream.send(DNSStreamFramer.frame(junk) ?? [])
            let formErr = try #require(try stream.readFrame())
            #expect(DNSHeader(formErr)?.id == 0x0BAD && DNSHeader(formErr)?.responseCodeLow == 1)
            try stream.send(DNSStreamFramer.frame(query("web", .a, id: 5).encoded()) ?? [])
            let good = try DNSMessage(parsing: try #require(try stream.readFrame()))
            #expect(good.header.id == 5 && good.answers.count == 1)

            // Two queries in one write are both answered, in order.
            let pipelined = try TCPStream(from: fixture.front, to: gateway)
            try pipelined.send((DNSStreamFramer.frame(query("web", .a, id: 6).encoded()) ?? []) + (DNSStreamFramer.frame(query("db", .a, id: 7).encoded()) ?? []))
            #expect(try DNSHeader(#require(try pipelined.readFrame()))?.id == 6)
            #expect(try DNSHeader(#require(try pipelined.readFrame()))?.id == 7)

            // A zero-length frame is not DNS: the connection is closed.
            let empty = try TCPStream(from: fixture.front, to: gateway)
            try empty.send([0, 0])
            #expect(empty.isClosedByPeer())

            #expect(try DNSClient.askTCP("web", from: fixture.front, to: gateway)?.answers.count == 1)
            #expect(try DNSClient.ask("web", from: fixture.front, to: gateway)?.answers.count == 1)
            #expect(server.terminate() == 0)
        }
    }

    @Test("a LAN peer routed to the gateway, and another network's container, get no answer")
    func foreignSources() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            try fixture.lan.route("10.89.0.0/24")
            let ask = query("web", .a).encoded()
            #expect(try DNSClient.udp(ask, from: fixture.lan.namespace, to: DNSFixture.frontGateway, timeout: 0.5) == nil)
            // The kernel completes the handshake; the resolver closes at once without a word.
            let lanStream = try TCPStream(from: fixture.lan.namespace, to: DNSFixture.frontGateway)
            try lanStream.send(DNSStreamFramer.frame(ask) ?? [])
            #expect(try lanStream.readFrame() == nil)
            // back's container asking front's gateway (the host routes between them).
            #expect(try DNSClient.udp(ask, from: fixture.back, to: DNSFixture.frontGateway, timeout: 0.5) == nil)
            // The resolver saw all three and refused them; front's own container is served.
            #expect(try DNSClient.ask("web", from: fixture.front, to: DNSFixture.frontGateway)?.answers.count == 1)
            #expect(try server.statistics()["refused_source"] == 3)
        }
    }

    @Test("TCP: at the limit a new connection replaces the oldest idle one; idle ones time out")
    func tcpLimits() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer(["--max-tcp", "2", "--tcp-idle-timeout", "500"])
            let gateway = DNSFixture.frontGateway
            let first = try TCPStream(from: fixture.front, to: gateway, timeout: 5)
            let second = try TCPStream(from: fixture.front, to: gateway, timeout: 5)
            // Both are served, so both are registered before the third arrives.
            for (stream, id) in [(first, UInt16(1)), (second, 2)] {
                try stream.send(DNSStreamFramer.frame(query("web", .a, id: id).encoded()) ?? [])
                #expect(try DNSHeader(#require(try stream.readFrame()))?.id == id)
            }
            // The third takes the place of the oldest idle connection, and is served.
            let third = try TCPStream(from: fixture.front, to: gateway, timeout: 5)
            try third.send(DNSStreamFramer.frame(query("web", .a, id: 3).encoded()) ?? [])
            #expect(try DNSHeader(#require(try third.readFrame()))?.id == 3)
            #expect(first.isClosedByPeer())
            // Idle for 500 ms: closed by the resolver (the read waits up to 5 s).
            #expect(second.isClosedByPeer())
            #expect(third.isClosedByPeer())
            #expect(try server.statistics()["rejected_tcp"] == 1)
        }
    }

    @Test("TCP: a client trickling a frame a byte at a time is closed at the idle timeout all the same")
    func tcpTrickle() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer(["--tcp-idle-timeout", "300"])
            let stream = try TCPStream(from: fixture.front, to: DNSFixture.frontGateway, timeout: 5)
            // A frame of 256 bytes announced, then one byte every 100 ms, for up to 10 s (100
            // bytes: the frame is never complete). Each byte comes well within the 300 ms, so
            // only a timeout the partial frame does not extend closes it; 10 s is a bound
            // for a loaded machine, not a timing claim.
            var closed = false
            let deadline = Date().addingTimeInterval(10)
            for byte in [UInt8(0x01), 0x00] + [UInt8](repeating: 0xAB, count: 98) where Date() < deadline {
                if (try? stream.send([byte])) == nil { closed = true; break }
                var probe: UInt8 = 0
                let count = recv(stream.fd, &probe, 1, Int32(MSG_DONTWAIT))
                if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { closed = true; break }
                usleep(100_000)
            }
            #expect(closed, "a partial frame must not extend the idle timeout")
            #expect(try DNSClient.askTCP("web", from: fixture.front, to: DNSFixture.frontGateway)?.answers.count == 1)
            #expect(server.terminate() == 0)
        }
    }

    @Test("a TCP query waiting upstream past the idle timeout does not spin the loop")
    func noSpinWhileForwarding() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            // back's only upstream does not exist: the forward waits its full second.
            let server = try fixture.startServer(["--tcp-idle-timeout", "200", "--upstream-timeout", "1000"])
            let stream = try TCPStream(from: fixture.back, to: DNSFixture.backGateway, timeout: 3)
            let before = try Self.cpuTicks(server.pid)
            try stream.send(DNSStreamFramer.frame(query("fwd.test", .a, id: 9).encoded()) ?? [])
            let reply = try #require(try stream.readFrame(), "SERVFAIL once the upstream times out")
            #expect(DNSHeader(reply)?.responseCodeLow == 2)
            let used = try Self.cpuTicks(server.pid) - before
            // A loop spinning on a past deadline burns the whole 800 ms after the idle
            // timeout (80 ticks); an idle one next to nothing.
            #expect(used < 20, "the resolver used \(used) ticks of CPU in one second")
            // Answered, the connection gets a fresh idle period and is then closed.
            #expect(stream.isClosedByPeer())
            #expect(server.terminate() == 0)
        }
    }

    @Test("one source cannot take every forwarding slot: past its own limit it is refused, other sources are forwarded")
    func forwardsPerSource() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer(["--upstream-timeout", "2000"])
            let fd = try fixture.front.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
            defer { close(fd) }
            DNSClient.setTimeout(fd, 1)
            var target = try DNSClient.address4(DNSFixture.frontGateway, 53)
            // silent.test is never answered: each query holds a slot for 2 s.
            let limit = DNSServerConfiguration().maxPendingForwardsPerSource
            for id in 1...UInt16(limit + 1) {
                let bytes = query("silent.test", .a, id: id).encoded()
                _ = bytes.withUnsafeBytes { raw in
                    withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                }
            }
            // The one over the limit is refused at once (long before any upstream timeout).
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = recv(fd, &buffer, buffer.count, 0)
            let refused = try #require(count > 0 ? DNSHeader(Array(buffer[..<count])) : nil, "no immediate answer")
            #expect(refused.id == UInt16(limit + 1))
            #expect(refused.responseCodeLow == UInt8(DNSResponseCode.refused.rawValue))
            // Meanwhile another network's container is forwarded as usual (its upstream is
            // dead, so SERVFAIL after the timeout, not REFUSED).
            let other = try #require(try DNSClient.ask("fwd.test", from: fixture.back, to: DNSFixture.backGateway, timeout: 4))
            #expect(other.responseCode == .serverFailure)
            #expect(try server.statistics()["forwarded"] == limit + 1)
            #expect(server.terminate() == 0)
        }
    }

    /// User plus system CPU time of `pid`, in clock ticks (/proc/PID/stat fields 14 and 15).
    static func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let close = stat.lastIndex(of: ")") else { throw SandboxError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3): utime is field 14, stime 15.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { throw SandboxError("unreadable /proc/\(pid)/stat") }
        return user + system
    }
}
