import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation
import Testing

@Suite("berth-dns in a host sandbox: reload and exit", .serialized, .enabled(if: try DNSKernelTests.enabled, "needs root"))
struct ServerLifecycleKernelTests {
    /// Asks until `done` holds for the answer (the reload is asynchronous to the writer);
    /// at most 5 s, then returns the last answer for the expectation to fail on.
    func eventually(_ name: String, from namespace: NetworkNamespace, to gateway: String,
                    _ done: (DNSMessage?) -> Bool) throws -> DNSMessage? {
        var answer: DNSMessage?
        for _ in 0..<100 {
            answer = try DNSClient.ask(name, from: namespace, to: gateway, timeout: 0.5)
            if done(answer) { break }
            usleep(50_000)
        }
        return answer
    }

    @Test("rewriting the table reloads it: names come and go, a moved name answers its new address")
    func fileReload() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway
            #expect(try DNSClient.ask("web", from: fixture.front, to: gateway)?.answers.count == 1)

            try fixture.writeTable(DNSFixture.table
                .replacingOccurrences(of: "endpoint web address=10.89.0.2 alias=www", with: "endpoint api address=10.89.0.20")
                .replacingOccurrences(of: "endpoint db address=10.89.0.3,fd00::3", with: "endpoint db address=10.89.0.33"))
            let api = try eventually("api", from: fixture.front, to: gateway) { $0?.answers.count == 1 }
            #expect(api?.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 20))])
            // web is gone from every network and now forwarded (the upstream says NXDOMAIN).
            #expect(try DNSClient.ask("web", from: fixture.front, to: gateway)?.responseCode == .nameError)
            #expect(fixture.upstream.asked.map(\.name) == ["web."])
            #expect(try DNSClient.ask("db", from: fixture.front, to: gateway)?.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 33))])

            // A table that is refused (a wildcard listen address) leaves the previous one serving.
            try fixture.writeTable("network broken listen=0.0.0.0 subnet=10.89.0.0/24\n")
            server.signal(SIGHUP)
            let stats = try server.statistics()
            #expect(stats["failed_reloads"] ?? 0 >= 1)
            #expect(try DNSClient.ask("api", from: fixture.front, to: gateway)?.answers.count == 1)
            #expect(server.log.contains("the resolver of network broken cannot listen on 0.0.0.0"))
        }
    }

    @Test("a reload rebinds: a removed network's address is released, an added one is served")
    func rebind() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            try fixture.writeTable("""
                network back listen=10.90.0.1 subnet=10.90.0.0/24
                endpoint cache address=10.90.0.2

                """)
            server.signal(SIGHUP)
            let released = try eventually("web", from: fixture.front, to: DNSFixture.frontGateway) { $0 == nil }
            #expect(released == nil)
            #expect(!listening(in: sandbox).contains("10.89.0.1:53"))
            #expect(listening(in: sandbox).contains("10.90.0.1:53"))
            #expect(try DNSClient.ask("cache", from: fixture.back, to: DNSFixture.backGateway)?.answers.count == 1)

            try fixture.writeTable(DNSFixture.table)
            server.signal(SIGHUP)
            let back = try eventually("web", from: fixture.front, to: DNSFixture.frontGateway) { $0?.answers.count == 1 }
            #expect(back?.answers.count == 1)
        }
    }

    @Test("a rewritten resolv.conf gives the new upstreams without a signal (berth-dns watches it)")
    func resolvConfReload() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let resolvConf = sandbox.stateDirectory + "/resolv.conf"
            try "nameserver \(DNSFixture.deadUpstream)\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)
            let server = try DNSServerProcess(in: sandbox, arguments: ["--table", fixture.tablePath, "--resolv-conf", resolvConf,
                                                                       "--upstream-timeout", "200"])
            let gateway = DNSFixture.frontGateway
            #expect(try DNSClient.ask("fwd.test", from: fixture.front, to: gateway)?.responseCode == .serverFailure)
            try "search example.test\nnameserver \(LANNeighbor.address)\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)
            let answer = try eventually("fwd.test", from: fixture.front, to: gateway) { $0?.answers.count == 1 }
            #expect(answer?.answers.map(\.data) == [.a(TestUpstream.forwardedAddress)])
            let counters = try server.statistics()
            // No SIGHUP was sent: only the watch can have reloaded it.
            #expect((counters["reloads"] ?? 0) >= 1, "no reload followed the rewrite: \(counters)")
        }
    }

    @Test("SIGTERM stops it with status 0 and nothing listens afterwards; it never binds 0.0.0.0")
    func termination() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let before = listening(in: sandbox)
            #expect(before.contains("10.89.0.1:53") && before.contains("10.90.0.1:53"))
            #expect(!before.contains("0.0.0.0:53") && !before.contains("*:53"))
            #expect(server.terminate() == 0)
            #expect(server.process.terminationReason == .exit)
            #expect(!listening(in: sandbox).contains(":53"))
        }
    }

    @Test("--exit-when-empty: a reload to an empty table ends the process")
    func exitWhenEmpty() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer(["--exit-when-empty"])
            try fixture.writeTable("# no networks\n")
            server.process.waitUntilExit()
            #expect(server.process.terminationStatus == 0)
            #expect(server.log.contains("no network to serve"))
        }
    }

    /// Local addresses with listening sockets in the sandbox (`ss` is the oracle).
    func listening(in sandbox: HostSandbox) -> String {
        sandbox.run(["ss", "-Hlntu"]).stdout
    }
}
