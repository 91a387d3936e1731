import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// Reloads that fail, on an in-process server (loopback only).
@Suite("berth-dns reload: a failure is retried, upstreams are kept", .serialized)
struct ReloadRecoveryTests {
    let block = LoopbackBlock()

    /// Asks `name` every 50 ms until it has an answer or `seconds` have passed (a bound
    /// against hanging, not a timing claim).
    func waitForAnswer(_ text: String, seconds: Double) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let answer = try Loopback.ask(text, from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 0.2),
               !answer.answers.isEmpty { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("a reload that fails is retried without another signal, so a new name resolves soon after")
    func retryAfterFailure() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let web = DNSEndpointNames(name: name("web"), addresses: [block.ip(1, 2)])
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1, endpoints: [web])]), configuration: configuration)
        #expect(try waitForAnswer("web", seconds: 10))
        // The next load fails once (a busy database, a half-written file); the one after
        // that would give the new table, but nothing signals again.
        let db = DNSEndpointNames(name: name("db"), addresses: [block.ip(1, 3)])
        server.source.set(DNSTable(networks: [try block.zone("front", 1, endpoints: [db])]), failing: 1)
        server.source.poke()
        #expect(try waitForAnswer("db", seconds: 10), "the failed reload was never retried")
        let statistics = server.stop()
        #expect(statistics.failedReloads == 1)
        #expect(statistics.reloads >= 1)
    }

    @Test("a reload whose new gateway cannot be bound (another process holds the port) counts as failed and is retried until it binds")
    func retryUnboundAddress() throws {
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .fixed([])
        let report = NSTemporaryDirectory() + "berth-dns-unbound-\(block.b)-\(block.port)"
        configuration.unboundReportPath = report
        defer { unlink(report) }
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1)]), configuration: configuration)
        // Another process has the new network's gateway port before the reload adds it.
        var squatter: Int32? = try Loopback.udp(block.address(2, 1), port: block.port)
        defer { if let squatter { close(squatter) } }
        let cache = DNSEndpointNames(name: name("cache"), addresses: [block.ip(2, 2)])
        server.source.set(DNSTable(networks: [try block.zone("front", 1), try block.zone("back", 2, endpoints: [cache])]))
        let before = server.source.loads
        server.source.poke()
        // The failed reload is retried (another load) with no signal: wait for two loads.
        #expect(Poll.wait(seconds: 10) { server.source.loads >= before + 2 }, "a reload with an unbound gateway was not retried")
        // What `berth check` reads: the address, and its network.
        #expect((try? String(contentsOfFile: report, encoding: .utf8)) == "\(block.address(2, 1)) back\n")
        if let fd = squatter { close(fd) }
        squatter = nil
        func answered() throws -> Bool {
            try Loopback.ask("cache", from: block.address(2, 10), to: block.address(2, 1), block.port, timeout: 0.2).map { !$0.answers.isEmpty } ?? false
        }
        #expect(Poll.wait(seconds: 15) { (try? answered()) == true }, "the gateway was never bound once the port was free")
        let statistics = server.stop()
        #expect(statistics.failedReloads >= 1)
        #expect(statistics.unboundAddresses == 0)
        #expect(!FileManager.default.fileExists(atPath: report), "the report outlived the unbound address")
        #expect(statistics.description.hasSuffix("failed_reloads=\(statistics.failedReloads) unbound=0"))
    }

    @Test("a reload that cannot read resolv.conf, or reads no nameserver, keeps the previous upstreams",
          .enabled(if: try KernelTests.enabled, "binds port 53 on loopback"))
    func keepsUpstreams() throws {
        // resolv.conf upstreams are on port 53.
        let recorder = try Loopback.udp(block.address(9, 1), port: 53, timeout: 1)
        defer { close(recorder) }
        let path = NSTemporaryDirectory() + "berth-dns-resolv-\(block.b)-\(block.port).conf"
        try "nameserver \(block.address(9, 1))\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .resolvConf(path: path)
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1)]), configuration: configuration)

        func forwarded(_ text: String) throws -> Bool {
            let client = try Loopback.udp(block.address(1, 10), timeout: 0.2)
            defer { close(client) }
            Loopback.send(client, query(text, .a, id: 5).encoded(), to: block.address(1, 1), block.port)
            let got = Loopback.receive(recorder).flatMap { try? DNSMessage(parsing: $0) }
            return got?.questions.first?.name == name(text)
        }
        // The server reads resolv.conf in the same step as the table, on its one thread: a
        // query sent once it has loaded is answered with what it read.
        func reload(sourceLocation: SourceLocation = #_sourceLocation) {
            let before = server.source.loads
            server.source.poke()
            #expect(Poll.wait(seconds: 10) { server.source.loads != before }, "the server never reloaded", sourceLocation: sourceLocation)
            usleep(50_000)
        }
        #expect(try forwarded("one.example"))
        // resolv.conf is being rewritten (gone for a moment) at the reload.
        unlink(path)
        reload()
        #expect(try forwarded("two.example"), "a missing resolv.conf at a reload turned forwarding off")
        // A resolv.conf without nameservers at a reload.
        try "search example\n".write(toFile: path, atomically: true, encoding: .utf8)
        reload()
        #expect(try forwarded("three.example"), "an empty resolv.conf at a reload turned forwarding off")
        // A new list replaces the old one as before.
        try "nameserver \(block.address(9, 2))\n".write(toFile: path, atomically: true, encoding: .utf8)
        reload()
        #expect(try !forwarded("four.example"))
        server.stop()
    }

    @Test("rewriting resolv.conf (renamed into place, through a symbolic link) switches the upstreams without a signal",
          .enabled(if: try KernelTests.enabled, "binds port 53 on loopback"))
    func followsResolvConf() throws {
        // resolv.conf upstreams are on port 53.
        let first = try Loopback.udp(block.address(9, 1), port: 53, timeout: 1)
        defer { close(first) }
        let second = try Loopback.udp(block.address(9, 2), port: 53, timeout: 1)
        defer { close(second) }
        // /etc/resolv.conf as resolvconf makes it: a link to a file in another directory.
        let directory = NSTemporaryDirectory() + "berth-dns-follow-\(block.b)-\(block.port)"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let real = directory + "/run/resolv.conf"
        try "nameserver \(block.address(9, 1))\n".write(toFile: real, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory + "/resolv.conf", withDestinationPath: real)
        var configuration = DNSServerConfiguration()
        configuration.port = block.port
        configuration.upstreams = .resolvConf(path: directory + "/resolv.conf")
        let server = try InProcessServer(table: DNSTable(networks: [try block.zone("front", 1)]), configuration: configuration)

        func reaches(_ upstream: Int32, _ text: String) throws -> Bool {
            let client = try Loopback.udp(block.address(1, 10), timeout: 0.2)
            defer { close(client) }
            Loopback.send(client, query(text, .a, id: 5).encoded(), to: block.address(1, 1), block.port)
            let got = Loopback.receive(upstream).flatMap { try? DNSMessage(parsing: $0) }
            return got?.questions.first?.name == name(text)
        }
        #expect(try reaches(first, "one.example"))
        // The target is replaced by a rename (write a new file, move it over): no signal,
        // no table change.
        let loads = server.source.loads
        try "nameserver \(block.address(9, 2))\n".write(toFile: real, atomically: true, encoding: .utf8)
        var attempt = 0
        #expect(Poll.wait(seconds: 10) { attempt += 1; return (try? reaches(second, "two-\(attempt).example")) == true },
                "the rewritten resolv.conf was not followed")
        #expect(server.source.loads > loads)
        server.stop()
    }
}
