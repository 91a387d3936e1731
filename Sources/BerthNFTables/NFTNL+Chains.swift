internal import CNFTNL
import BerthCore
import BerthNetlink

/// Chains: the NEWCHAIN/DELCHAIN message and the parser of GETCHAIN replies.
extension NFTNL {
    static func chainMessage(_ chain: Chain, type: UInt16, flags: UInt16, sequence: UInt32) throws(BerthError) -> [UInt8] {
        try message(type: type, family: chain.family.nfproto, flags: flags, sequence: sequence,
                    capacity: namedMessageSize(chain.table, chain.name, chain.comment)) { nlh throws(BerthError) in
            guard let c = nftnl_chain_alloc() else { throw BerthError(.system, "allocate an nftnl chain") }
            defer { nftnl_chain_free(c) }
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), chain.table)
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), chain.name)
            if type == MessageType.newChain {
                if let base = chain.base {
                    nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), base.hook.number)
                    nftnl_chain_set_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue), base.priority.value)
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue), base.type.rawValue)
                    nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue), base.policy == .accept ? 1 : 0)
                }
                if let comment = chain.comment {
                    let data = userdata(0, comment)
                    data.withUnsafeBytes { _ = nftnl_chain_set_data(c, UInt16(NFTNL_CHAIN_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
                }
            }
            nftnl_chain_nlmsg_build_payload(nlh, c)
        }
    }

    static func parseChain(_ message: NetlinkMessage) -> Chain? {
        withHeader(message) { nlh in
            guard let c = nftnl_chain_alloc() else { return nil }
            defer { nftnl_chain_free(c) }
            guard nftnl_chain_nlmsg_parse(nlh, c) >= 0, let family = Family(nfproto: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue))) else { return nil }
            func has(_ attr: nftnl_chain_attr) -> Bool { nftnl_chain_is_set(c, UInt16(attr.rawValue)) }
            var base: BaseChain?
            if has(NFTNL_CHAIN_HOOKNUM), has(NFTNL_CHAIN_TYPE),
               let hook = BaseChain.Hook.allCases.first(where: { $0.number == nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) }),
               let type = BaseChain.ChainType(rawValue: string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue)))) {
                let policy: BaseChain.Policy = nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue)) == 0 ? .drop : .accept
                base = BaseChain(type: type, hook: hook, priority: Priority(nftnl_chain_get_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue))), policy: policy)
            }
            let udata = has(NFTNL_CHAIN_USERDATA) ? data { nftnl_chain_get_data(c, UInt16(NFTNL_CHAIN_USERDATA.rawValue), $0) } : []
            return Chain(family: family, table: string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue))),
                         name: string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue))), base: base,
                         comment: comment(in: udata, type: 0))
        }
    }
}
