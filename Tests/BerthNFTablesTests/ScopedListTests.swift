import BerthCore
import BerthNamespace
@testable import BerthNetlink
@testable import BerthNFTables
import Testing

/// `list(table:)` asks the kernel for one table only: the exact requests, through a script.
@Suite("nftables scoped reads")
struct ScopedListTests {
    /// A transport scripted with what a kernel holding Berth's publish table answers, plus a
    /// chain of another table of the same family (the kernel filters chain dumps by family only).
    static func scripted(_ name: String) throws -> ScriptedTransport {
        typealias M = NFTNL.MessageType
        let (table, publish, wild, chains, rules) = Fixture.publishTable(name)
        let other = Table(.ip, "kube-proxy")
        let transport = ScriptedTransport()
        transport.replies[M.getTable] = try [NFTNL.tableMessage(table, type: M.newTable, flags: 0, sequence: 0)]
        transport.replies[M.getChain] = try (chains + [other.chain("services")]).map { try NFTNL.chainMessage($0, type: M.newChain, flags: 0, sequence: 0) }
        transport.replies[M.getRule] = try rules.map { rule throws(BerthError) in try NFTNL.ruleMessage(rule, type: M.newRule, flags: 0, sequence: 0) }
        transport.replies[M.getSet] = try [publish, wild].map { try NFTNL.setMessage($0, type: M.newSet, flags: 0, sequence: 0) }
        // One element a message: libnftnl numbers the list entries of a message it builds 1, 2, …,
        // while its parser (like the kernel's replies) wants every entry typed NFTA_LIST_ELEM.
        // Listed in the order the kernel's hash lists them, as `Fixture.publishText` shows.
        transport.elementReplies["publish"] = try [2, 1, 0].map {
            try NFTNL.elementsMessage(publish, [Fixture.publishElements[$0]], type: M.newSetElem, flags: 0, sequence: 0)
        }
        return transport
    }

    @Test("one GETTABLE, chain/rule/set dumps naming the table, elements of its own sets")
    func requestsOnlyTheTable() throws {
        let transport = try Self.scripted("berth-test")
        let backend = KernelBackend(transport: transport)
        let contents = try #require(try backend.list(table: Table(.ip, "berth-test")))
        #expect(Renderer.table(contents) == Fixture.publishText("berth-test"))
        #expect(!contents.chains.contains { $0.chain.table != "berth-test" })
        expectGolden(transport.annotated, """
        nlmsghdr len=36 type=NFT_MSG_GETTABLE flags=REQUEST|ACK seq=1 | 24 00 00 00 01 0a 05 00 01 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_TABLE_NAME "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        nlmsghdr len=36 type=NFT_MSG_GETCHAIN flags=REQUEST|DUMP seq=2 | 24 00 00 00 04 0a 01 03 02 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_CHAIN_TABLE "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        nlmsghdr len=36 type=NFT_MSG_GETRULE flags=REQUEST|DUMP seq=3 | 24 00 00 00 07 0a 01 03 03 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_RULE_TABLE "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        nlmsghdr len=36 type=NFT_MSG_GETSET flags=REQUEST|DUMP seq=4 | 24 00 00 00 0a 0a 01 03 04 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_SET_TABLE "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        nlmsghdr len=48 type=NFT_MSG_GETSETELEM flags=REQUEST|DUMP seq=5 | 30 00 00 00 0d 0a 01 03 05 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_SET_ELEM_LIST_SET "publish" | 0c 00 02 00 70 75 62 6c 69 73 68 00
          NFTA_SET_ELEM_LIST_TABLE "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        nlmsghdr len=48 type=NFT_MSG_GETSETELEM flags=REQUEST|DUMP seq=6 | 30 00 00 00 0d 0a 01 03 06 00 00 00 00 00 00 00
        nfgenmsg family=ip version=0 res_id=0 | 02 00 00 00
          NFTA_SET_ELEM_LIST_SET "wild" | 09 00 02 00 77 69 6c 64 00 00 00 00
          NFTA_SET_ELEM_LIST_TABLE "berth-test" | 0f 00 01 00 62 65 72 74 68 2d 74 65 73 74 00 00
        """)
    }

    @Test("a table that is not there: nil after one request")
    func missingTable() throws {
        let transport = try Self.scripted("berth-test")
        transport.refusals[NFTNL.MessageType.getTable] = 2 // ENOENT
        let backend = KernelBackend(transport: transport)
        #expect(try backend.list(table: Table(.ip, "berth-test")) == nil)
        #expect(transport.requests.count == 1)
    }

    @Test("the fake answers list(table:) as the kernel does")
    func fakeAgrees() throws {
        let fake = FakeBackend()
        try fake.apply(Fixture.publishTransaction("berth-test"))
        var other = Transaction()
        other.add(.table(Table(.ip, "kube-proxy")))
        try fake.apply(other)
        let kernel = KernelBackend(transport: try Self.scripted("berth-test"))
        let fromFake = try #require(try fake.list(table: Table(.ip, "berth-test")))
        let fromKernel = try #require(try kernel.list(table: Table(.ip, "berth-test")))
        #expect(Renderer.table(fromFake) == Renderer.table(fromKernel))
        #expect(try fake.list(table: Table(.ip6, "berth-test")) == nil)
        #expect(try fake.list(table: Table(.ip, "nosuch")) == nil)
    }
}

func expectGolden(_ actual: String, _ golden: String, sourceLocation: SourceLocation = #_sourceLocation) {
    if actual == golden { return }
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let g = golden.split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(a.count, g.count) {
        let left = i < a.count ? String(a[i]) : "<none>"
        let right = i < g.count ? String(g[i]) : "<none>"
        if left != right {
            Issue.record("golden differs at line \(i + 1):\n  actual: \(left)\n  golden: \(right)\n--- actual ---\n\(actual)", sourceLocation: sourceLocation)
            return
        }
    }
}

