import BerthCore
import BerthNamespace
@testable import BerthNetlink
@testable import BerthNFTables
import BerthTestSupport
import Testing

/// A transport that passes everything to a real socket and keeps the requests and replies.
final class TappedTransport: NetlinkTransport, @unchecked Sendable {
    let inner: any NetlinkTransport
    private(set) var requests: [NetlinkRequest] = []
    private(set) var replies: [NetlinkMessage] = []

    init(_ inner: any NetlinkTransport) { self.inner = inner }

    func nextSequence() -> UInt32 { inner.nextSequence() }

    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        let answer = try inner.transact(request)
        replies += answer
        return answer
    }

    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        let answer = try inner.dump(request)
        replies += answer
        return answer
    }
}

@Suite("nftables scoped reads (kernel)", .enabled(if: try KernelTests.enabled))
struct ScopedListKernelTests {
    @Test("list(table:) reads Berth's table and none of another table's 5000 elements")
    func onlyBerthsTable() throws {
        try withHostSandbox { sandbox in
            let setup = try KernelBackend(namespace: sandbox.namespace)
            try setup.apply(Fixture.publishTransaction("berth-test"))
            // Another owner's table of the same family with a large set, as kube-proxy keeps.
            let other = Table(.ip, "kube-proxy")
            let endpoints = other.set("endpoints", type: [.ipv4Address])
            var tx = Transaction()
            tx.add(.table(other))
            tx.add(.set(endpoints))
            tx.add(.chain(other.chain("services")))
            tx.add(.rule(other.rule(in: "services", [.counter()])))
            tx.add((0..<5000).map { Element([.ipv4(IPv4Address(0x0a00_0000 + UInt32($0)))]) }, to: endpoints)
            try setup.apply(tx)

            let tap = TappedTransport(try NetlinkSocket(.netfilter, in: sandbox.namespace))
            let backend = KernelBackend(transport: tap)
            let scoped = try #require(try backend.list(table: Table(.ip, "berth-test")))
            #expect(Renderer.table(scoped) == Fixture.publishText("berth-test"))

            // The requests name Berth's table, never the other one: one GETTABLE, three
            // filtered dumps, and the elements of Berth's two maps.
            let requests = tap.requests.map { NFNetlinkAnnotator.annotate($0.bytes) }
            #expect(requests.count == 6)
            #expect(requests.allSatisfy { $0.contains("\"berth-test\"") && !$0.contains("kube-proxy") })
            #expect(requests.filter { $0.contains("NFT_MSG_GETSETELEM") }.count == 2)
            // The kernel sent none of the other table's rules, sets or elements (chain dumps
            // are filtered by family only; Berth drops the other table's chain itself).
            // (libnftnl aborts on a message of another kind, so each parser gets its own.)
            typealias M = NFTNL.MessageType
            func replies(_ type: UInt16) -> [NetlinkMessage] { tap.replies.filter { $0.type == NFTNL.subsystem << 8 | type } }
            #expect(replies(M.newRule).compactMap(NFTNL.parseRule).map(\.table) == Array(repeating: "berth-test", count: 13))
            #expect(replies(M.newSet).compactMap(NFTNL.parseSet).map(\.name) == ["publish", "wild"])
            // NFTA_SET_ELEM_LIST_SET (2) names the set each element message belongs to.
            #expect(Set(replies(M.newSetElem).map { $0.attributes(after: 4)[2]?.string ?? "?" }) == ["publish", "wild"])
            let chains = replies(M.newChain).compactMap(NFTNL.parseChain).map { "\($0.table) \($0.name)" }
            #expect(tap.replies.count < 40, "\(tap.replies.count) reply messages; chains: \(chains)")

            // The whole ruleset, for contrast, carries the 5000 elements; Berth's part is the same.
            let full = try backend.list()
            #expect(full.table(.ip, "kube-proxy")?.sets.first?.elements.count == 5000)
            #expect(full.table(.ip, "berth-test") == scoped)
            #expect(try backend.list(table: Table(.ip, "nosuch")) == nil)
            #expect(try backend.list(table: Table(.ip6, "berth-test")) == nil)
        }
    }
}
