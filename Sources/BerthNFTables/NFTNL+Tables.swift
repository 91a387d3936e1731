internal import CNFTNL
import BerthCore
import BerthNetlink

/// Tables: the NEWTABLE/DELTABLE message and the parser of GETTABLE replies.
extension NFTNL {
    static func tableMessage(_ table: Table, type: UInt16, flags: UInt16, sequence: UInt32) throws(BerthError) -> [UInt8] {
        try message(type: type, family: table.family.nfproto, flags: flags, sequence: sequence,
                    capacity: namedMessageSize(table.name, table.comment)) { nlh throws(BerthError) in
            guard let t = nftnl_table_alloc() else { throw BerthError(.system, "allocate an nftnl table") }
            defer { nftnl_table_free(t) }
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table.name)
            if type == MessageType.newTable {
                // Flags 0: never NFT_TABLE_F_OWNER, the rules must outlive this process.
                nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FLAGS.rawValue), 0)
                if let comment = table.comment {
                    let data = userdata(0, comment)
                    data.withUnsafeBytes { _ = nftnl_table_set_data(t, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
                }
            }
            nftnl_table_nlmsg_build_payload(nlh, t)
        }
    }

    static func parseTable(_ message: NetlinkMessage) -> Table? {
        withHeader(message) { nlh in
            guard let t = nftnl_table_alloc() else { return nil }
            defer { nftnl_table_free(t) }
            guard nftnl_table_nlmsg_parse(nlh, t) >= 0, let family = Family(nfproto: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue))) else { return nil }
            let udata = nftnl_table_is_set(t, UInt16(NFTNL_TABLE_USERDATA.rawValue))
                ? data { nftnl_table_get_data(t, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0) } : []
            var table = Table(family, string(nftnl_table_get_str(t, UInt16(NFTNL_TABLE_NAME.rawValue))), comment: comment(in: udata, type: 0))
            // Flags and owner say whether the table's chains see packets at all, and whether
            // Berth may change it: a dormant or owned `berth` is not taken for a working one.
            if nftnl_table_is_set(t, UInt16(NFTNL_TABLE_FLAGS.rawValue)) {
                table.flags = TableFlags(rawValue: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FLAGS.rawValue)))
            }
            if nftnl_table_is_set(t, UInt16(NFTNL_TABLE_OWNER.rawValue)) {
                table.owner = nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_OWNER.rawValue))
            }
            return table
        }
    }
}
