internal import CNFTNL
import BerthCore
import BerthNetlink

/// Requests that read objects back: one table, and dumps of chains, rules and sets.
extension NFTNL {
    /// NFT_MSG_GETTABLE for one table (not a dump): the kernel answers with that table, or
    /// ENOENT.
    static func getTableRequest(_ table: Table, sequence: UInt32) throws(BerthError) -> [UInt8] {
        try tableMessage(table, type: MessageType.getTable, flags: NetlinkFlags.ack, sequence: sequence)
    }

    /// A dump of `type` (GETTABLE, GETCHAIN, GETRULE or GETSET) over every table, or, with
    /// `table`, a dump whose nfgenmsg names the table's family and whose NFTA_*_TABLE
    /// attribute names the table, as `nft list table` asks. The kernel filters rule and set
    /// dumps by that table; chain dumps only by family, so a reader still drops other
    /// tables' chains.
    static func dumpRequest(_ type: UInt16, of table: Table? = nil, sequence: UInt32) throws(BerthError) -> [UInt8] {
        try message(type: type, family: table?.family.nfproto ?? 0, flags: NetlinkFlags.dump, sequence: sequence,
                    capacity: namedMessageSize(table?.name)) { nlh throws(BerthError) in
            guard let table else { return }
            switch type {
            case MessageType.getChain:
                guard let c = nftnl_chain_alloc() else { throw BerthError(.system, "allocate an nftnl chain") }
                defer { nftnl_chain_free(c) }
                nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table.name)
                nftnl_chain_nlmsg_build_payload(nlh, c)
            case MessageType.getRule:
                guard let r = nftnl_rule_alloc() else { throw BerthError(.system, "allocate an nftnl rule") }
                defer { nftnl_rule_free(r) }
                nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table.name)
                nftnl_rule_nlmsg_build_payload(nlh, r)
            case MessageType.getSet:
                guard let s = nftnl_set_alloc() else { throw BerthError(.system, "allocate an nftnl set") }
                defer { nftnl_set_free(s) }
                nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
                nftnl_set_nlmsg_build_payload(nlh, s)
            default:
                return
            }
        }
    }
}
