internal import CNFTNL
import BerthCore
import BerthNetlink

/// Sets and maps: the NEWSET/DELSET message and the parser of GETSET replies.
extension NFTNL {
    /// A libnftnl set naming `set`; with `full`, everything NEWSET needs (types, flags, id,
    /// user data). The caller frees it.
    static func makeSet(_ set: NFTSet, full: Bool, id: UInt32 = 0) -> OpaquePointer? {
        guard let s = nftnl_set_alloc() else { return nil }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), set.table)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.name)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), set.family.nfproto)
        guard full else { return s }
        // The kernel requires NFTA_SET_ID on NEWSET (rules of the same batch may refer to it);
        // the message's sequence number is unique within the batch.
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), set.flags.rawValue | (set.isMap ? SetFlags.map : 0))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), set.keyType.typeID)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(set.keyType.length))
        if let data = set.dataType {
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_TYPE.rawValue), data.typeID)
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DATA_LEN.rawValue), UInt32(data.length))
        }
        // nft records the byte order of key and data (0 = as the type says) and the comment.
        var udata: [UInt8] = [0, 4] + u32le(0)
        if set.isMap { udata += [1, 4] + u32le(0) }
        if let comment = set.comment { udata += userdata(7, comment) }
        udata.withUnsafeBytes { _ = nftnl_set_set_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        return s
    }

    static func setMessage(_ set: NFTSet, type: UInt16, flags: UInt16, sequence: UInt32) throws(BerthError) -> [UInt8] {
        try message(type: type, family: set.family.nfproto, flags: flags, sequence: sequence,
                    capacity: namedMessageSize(set.table, set.name, set.comment)) { nlh throws(BerthError) in
            guard let s = makeSet(set, full: type == MessageType.newSet, id: sequence) else { throw BerthError(.system, "allocate an nftnl set for \(set.label)") }
            defer { nftnl_set_free(s) }
            nftnl_set_nlmsg_build_payload(nlh, s)
        }
    }

    /// The table and name of a named set (nil for an anonymous one, bound to its rule), for
    /// one `parseSet` cannot read (types Berth does not know): listed as unreadable, so
    /// nothing takes a table holding it for empty.
    static func parseSetName(_ message: NetlinkMessage) -> (family: Family, table: String, name: String)? {
        withHeader(message) { nlh in
            guard let s = nftnl_set_alloc() else { return nil }
            defer { nftnl_set_free(s) }
            guard nftnl_set_nlmsg_parse(nlh, s) >= 0, let family = Family(nfproto: nftnl_set_get_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue))),
                  nftnl_set_get_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue)) & SetFlags.anonymous == 0 else { return nil }
            return (family, string(nftnl_set_get_str(s, UInt16(NFTNL_SET_TABLE.rawValue))), string(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue))))
        }
    }

    /// A named set (anonymous ones are nil) with types Berth knows (others are nil too).
    static func parseSet(_ message: NetlinkMessage) -> NFTSet? {
        withHeader(message) { nlh in
            guard let s = nftnl_set_alloc() else { return nil }
            defer { nftnl_set_free(s) }
            guard nftnl_set_nlmsg_parse(nlh, s) >= 0, let family = Family(nfproto: nftnl_set_get_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue))) else { return nil }
            let flags = nftnl_set_get_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue))
            guard flags & SetFlags.anonymous == 0,
                  let key = TypeSpec(typeID: nftnl_set_get_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue)), length: Int(nftnl_set_get_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue)))) else { return nil }
            var dataType: TypeSpec?
            if flags & SetFlags.map != 0 {
                guard let d = TypeSpec(typeID: nftnl_set_get_u32(s, UInt16(NFTNL_SET_DATA_TYPE.rawValue)), length: Int(nftnl_set_get_u32(s, UInt16(NFTNL_SET_DATA_LEN.rawValue)))) else { return nil }
                dataType = d
            }
            let udata = nftnl_set_is_set(s, UInt16(NFTNL_SET_USERDATA.rawValue))
                ? data { nftnl_set_get_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), $0) } : []
            return NFTSet(family: family, table: string(nftnl_set_get_str(s, UInt16(NFTNL_SET_TABLE.rawValue))),
                          name: string(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue))), keyType: key, dataType: dataType,
                          flags: SetFlags(rawValue: flags & ~(SetFlags.map | SetFlags.anonymous)),
                          comment: comment(in: udata, type: 7))
        }
    }
}
