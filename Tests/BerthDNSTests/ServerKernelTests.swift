import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation
import Testing

@Suite("berth-dns in a host sandbox: answers and forwarding", .serialized, .enabled(if: try DNSKernelTests.enabled, "needs root"))
struct ServerKernelTests {
    @Test("a container gets its network's names over UDP and TCP; other networks' names are forwarded like any other name")
    func localNames() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway

            let udp = try #require(try DNSClient.ask("web", from: fixture.front, to: gateway))
            #expect(udp.responseCode == .noError)
            #expect(udp.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))])
            let tcp = try #require(try DNSClient.askTCP("WWW.", from: fixture.front, to: gateway))
            #expect(tcp.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))])
            #expect(tcp.answers.first?.name.wire == name("WWW").wire)
            let aaaa = try #require(try DNSClient.ask("db", .aaaa, from: fixture.front, to: gateway))
            #expect(aaaa.answers.map(\.data) == [.aaaa(try IPv6Address(parsing: "fd00::3"))])
            let noData = try #require(try DNSClient.ask("web", .aaaa, from: fixture.front, to: gateway))
            #expect(noData.responseCode == .noError && noData.answers.isEmpty)
            let ptr = try #require(try DNSClient.ask("2.0.89.10.in-addr.arpa", .ptr, from: fixture.front, to: gateway))
            #expect(ptr.answers.map(\.data) == [.ptr(name("web.front"))])

            // cache lives on back: front does not serve it, so it goes upstream (whose
            // NXDOMAIN is relayed) as Docker and aardvark-dns do; on back it is answered.
            // Reverse names of any Berth subnet still never leave the resolver.
            let hidden = try #require(try DNSClient.ask("cache", from: fixture.front, to: gateway))
            #expect(hidden.responseCode == .nameError)
            let hiddenPTR = try #require(try DNSClient.ask("2.0.90.10.in-addr.arpa", .ptr, from: fixture.front, to: gateway))
            #expect(hiddenPTR.responseCode == .nameError)
            let seen = try #require(try DNSClient.ask("cache", from: fixture.back, to: DNSFixture.backGateway))
            #expect(seen.answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 2))])
            #expect(fixture.upstream.asked.map(\.name) == ["cache."], "asked upstream: \(fixture.upstream.asked)")

            let stats = try server.statistics()
            #expect(stats["local"] == 7)
            #expect(stats["forwarded"] == 1)
            #expect(server.terminate() == 0)
        }
    }

    @Test("other names are forwarded to the upstream and its answers relayed, over UDP and over TCP")
    func forwarding() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway

            let udp = try #require(try DNSClient.ask("fwd.test", from: fixture.front, to: gateway))
            #expect(udp.answers.map(\.data) == [.a(TestUpstream.forwardedAddress)])
            #expect(udp.answers.first?.ttl == 30)
            let tcp = try #require(try DNSClient.askTCP("fwd.test", from: fixture.front, to: gateway))
            #expect(tcp.answers.map(\.data) == [.a(TestUpstream.forwardedAddress)])
            // The upstream's NXDOMAIN and SERVFAIL pass through as they are.
            #expect(try DNSClient.ask("nothing.test", from: fixture.front, to: gateway)?.responseCode == .nameError)
            #expect(try DNSClient.ask("fail.test", from: fixture.front, to: gateway)?.responseCode == .serverFailure)
            #expect(fixture.upstream.asked.map(\.name) == ["fwd.test.", "fwd.test.", "nothing.test.", "fail.test."])
            #expect(fixture.upstream.asked.map(\.tcp) == [false, true, false, false])
            #expect(server.terminate() == 0)
        }
    }

    @Test("truncation: the upstream's TC passes through, the TCP retry gets everything, an oversized UDP reply is cut")
    func truncation() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            let gateway = DNSFixture.frontGateway

            // 60 addresses do not fit in 512 bytes: the upstream truncates, we relay that.
            let cut = try #require(try DNSClient.ask("big.test", from: fixture.front, to: gateway))
            #expect(cut.header.isTruncated)
            #expect(cut.answers.count < 60)
            let whole = try #require(try DNSClient.askTCP("big.test", from: fixture.front, to: gateway))
            #expect(!whole.header.isTruncated)
            #expect(whole.answers.count == 60)
            // With EDNS 4096 the client takes it all over UDP.
            let edns = try #require(try DNSClient.ask("big.test", from: fixture.front, to: gateway, edns: DNSEDNS(udpPayloadSize: 4096)))
            #expect(edns.answers.count == 60 && !edns.header.isTruncated)
            // A server that ignores the client's 512 bytes: the resolver cuts its reply.
            let bytes = try #require(try DNSClient.udp(query("huge.test", .a, id: 77).encoded(), from: fixture.front, to: gateway))
            #expect(bytes.count <= 512)
            let huge = try DNSMessage(parsing: bytes)
            #expect(huge.header.id == 77 && huge.header.isTruncated && huge.answers.isEmpty)
            #expect(huge.questions.map(\.name) == [name("huge.test")])
            #expect(try server.statistics()["truncated"] == 1)
        }
    }

    @Test("an upstream that does not answer is passed over for the next; none left is SERVFAIL")
    func upstreamFailover() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try DNSServerProcess(in: sandbox, arguments: [
                "--table", fixture.tablePath, "--upstream", DNSFixture.deadUpstream, "--upstream", LANNeighbor.address,
                "--upstream-timeout", "300",
            ])
            let answer = try #require(try DNSClient.ask("fwd.test", from: fixture.front, to: DNSFixture.frontGateway, timeout: 5))
            #expect(answer.answers.map(\.data) == [.a(TestUpstream.forwardedAddress)])
            // The back network's only upstream is the dead one.
            let failed = try #require(try DNSClient.ask("fwd.test", from: fixture.back, to: DNSFixture.backGateway, timeout: 5))
            #expect(failed.responseCode == .serverFailure)
            let stats = try server.statistics()
            #expect(stats["servfail"] == 1)
            #expect(stats["relayed"] == 1)
        }
    }

    @Test("a forwarded query advertises at most the resolver's own payload size upstream, whatever the client's")
    func forwardedPayloadSize() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            let server = try fixture.startServer()
            // The client can take 4096, but the resolver relays at most 1232 over UDP: an
            // upstream told 4096 would send answers the resolver then has to cut.
            let reply = try #require(try DNSClient.ask("fwd.test", from: fixture.front, to: DNSFixture.frontGateway,
                                                       edns: DNSEDNS(udpPayloadSize: 4096, dnssecOK: true)))
            #expect(reply.answers.map(\.data) == [.a(TestUpstream.forwardedAddress)])
            #expect(fixture.upstream.askedPayloadSizes == [1232])
            // A small size is passed on as it is; no EDNS stays no EDNS.
            _ = try DNSClient.ask("fwd.test", from: fixture.front, to: DNSFixture.frontGateway, edns: DNSEDNS(udpPayloadSize: 800))
            _ = try DNSClient.ask("fwd.test", from: fixture.front, to: DNSFixture.frontGateway)
            #expect(fixture.upstream.askedPayloadSizes == [1232, 800, nil])
            #expect(server.terminate() == 0)
        }
    }

    @Test("at most three upstreams are asked, as glibc reads at most three nameservers")
    func threeUpstreams() throws {
        try withHostSandbox { sandbox in
            let fixture = try DNSFixture(sandbox: sandbox)
            // Three closed ports on the LAN peer (each refused at once), then the real upstream.
            let closed = (1...3).map { "\(LANNeighbor.address):530\($0)" }.joined(separator: ",")
            try fixture.writeTable(DNSFixture.table.replacingOccurrences(
                of: "network front listen=10.89.0.1 subnet=10.89.0.0/24",
                with: "network front listen=10.89.0.1 subnet=10.89.0.0/24 upstream=\(closed),\(LANNeighbor.address)"))
            let server = try fixture.startServer()
            let answer = try #require(try DNSClient.ask("fwd.test", from: fixture.front, to: DNSFixture.frontGateway, timeout: 5))
            #expect(answer.responseCode == .serverFailure)
            #expect(fixture.upstream.asked.isEmpty, "the fourth upstream was asked")
            #expect(server.terminate() == 0)
        }
    }
}
