import BerthCore
@testable import BerthNetlink
@testable import BerthNFTables
import BerthTestSupport
import Testing

/// A table's flags and owner are read back: a dormant table hooks no chain, an owned one
/// refuses every other process's change, and neither is to be taken for a working table.
@Suite("table flags")
struct TableFlagsTests {
    /// A NEWTABLE reply as the kernel sends it: `ip berth`, flags dormant|owner, owner port 77.
    static let reply: [UInt8] = [
        48, 0, 0, 0, 0x00, 0x0A, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,   // nlmsghdr: NFT_MSG_NEWTABLE
        2, 0, 0, 0,                                              // nfgenmsg: NFPROTO_IPV4
        10, 0, 1, 0, 0x62, 0x65, 0x72, 0x74, 0x68, 0, 0, 0,      // NFTA_TABLE_NAME "berth"
        8, 0, 2, 0, 0, 0, 0, 3,                                  // NFTA_TABLE_FLAGS 3 (big-endian)
        8, 0, 7, 0, 0, 0, 0, 77,                                 // NFTA_TABLE_OWNER 77
    ]

    @Test("a NEWTABLE reply with flags dormant and owner reads back as dormant, owned by its port")
    func parsed() throws {
        let message = try #require(Self.reply.withUnsafeBytes { NetlinkMessage.split($0) }.first)
        let table = try #require(NFTNL.parseTable(message))
        #expect(table.family == .ip && table.name == "berth")
        #expect(table.flags == [.dormant, .owner])
        #expect(table.owner == 77)
        // A table Berth makes reads back with no flags and no owner, equal to the one made.
        let made = try NFTNL.tableMessage(Table(.ip, "berth"), type: NFTNL.MessageType.newTable, flags: 0, sequence: 1)
        let madeMessage = try #require(made.withUnsafeBytes { NetlinkMessage.split($0) }.first)
        let plain = try #require(NFTNL.parseTable(madeMessage))
        #expect(plain.flags.isEmpty && plain.owner == nil && plain == Table(.ip, "berth"))
    }
}

@Suite("table flags (kernel)", .enabled(if: try KernelTests.enabled))
struct TableFlagsKernelTests {
    @Test("a table made dormant reads back as dormant from the kernel")
    func dormantFromKernel() throws {
        try withHostSandbox { sandbox in
            let backend = try KernelBackend(namespace: sandbox.namespace)
            try backend.apply(Fixture.publishTransaction("berth-test"))
            #expect(try backend.list().table(.ip, "berth-test")?.table.flags == [])
            let dormant = sandbox.run(["nft", "add", "table", "ip", "berth-test", "{ flags dormant; }"])
            try #require(dormant.succeeded, "\(dormant)")
            #expect(try backend.list().table(.ip, "berth-test")?.table.flags == [.dormant])
        }
    }
}
