internal import CNFTNL
import BerthCore
import BerthNetlink

/// The libnftnl boundary: Swift values to libnftnl objects and netlink messages, and back.
/// Nothing here leaks a C type.
enum NFTNL {
    // MARK: Message types and flags

    enum MessageType {
        static let newTable: UInt16 = 0, getTable: UInt16 = 1, delTable: UInt16 = 2
        static let newChain: UInt16 = 3, getChain: UInt16 = 4, delChain: UInt16 = 5
        static let newRule: UInt16 = 6, getRule: UInt16 = 7, delRule: UInt16 = 8
        static let newSet: UInt16 = 9, getSet: UInt16 = 10, delSet: UInt16 = 11
        static let newSetElem: UInt16 = 12, getSetElem: UInt16 = 13, delSetElem: UInt16 = 14
        static let newGen: UInt16 = 15, getGen: UInt16 = 16
        // Linux 6.3+: delete if present (NFT_MSG_DESTROY*); Debian 12's headers predate them.
        static let destroyTable: UInt16 = 26, destroyChain: UInt16 = 27, destroyRule: UInt16 = 28
        static let destroySet: UInt16 = 29, destroySetElem: UInt16 = 30
    }

    static let subsystem: UInt16 = 10 // NFNL_SUBSYS_NFTABLES
    static let batchBegin: UInt16 = 0x10, batchEnd: UInt16 = 0x11

    // MARK: Expressions

    private static func a(_ value: Int) -> UInt16 { UInt16(value) }

    static func make(_ expr: Expr) -> OpaquePointer? {
        func alloc(_ name: String) -> OpaquePointer? { nftnl_expr_alloc(name) }
        func setData(_ e: OpaquePointer, _ attr: Int, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { _ = nftnl_expr_set(e, a(attr), $0.baseAddress, UInt32($0.count)) }
        }
        switch expr {
        case .payload(let base, let offset, let length, let dreg):
            guard let e = alloc("payload") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_PAYLOAD_DREG), dreg)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_PAYLOAD_BASE), base)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_PAYLOAD_LEN), length)
            return e
        case .meta(let key, let dreg):
            guard let e = alloc("meta") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_META_KEY), key)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_META_DREG), dreg)
            return e
        case .cmp(let op, let sreg, let data):
            guard let e = alloc("cmp") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_CMP_SREG), sreg)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_CMP_OP), op)
            setData(e, NFTNL_EXPR_CMP_DATA, data)
            return e
        case .bitwise(let sreg, let dreg, let mask, let xor):
            guard let e = alloc("bitwise") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_BITWISE_SREG), sreg)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_BITWISE_DREG), dreg)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_BITWISE_LEN), UInt32(mask.count))
            setData(e, NFTNL_EXPR_BITWISE_MASK, mask)
            setData(e, NFTNL_EXPR_BITWISE_XOR, xor)
            return e
        case .fib(let flags, let result, let dreg):
            guard let e = alloc("fib") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_FIB_FLAGS), flags)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_FIB_RESULT), result)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_FIB_DREG), dreg)
            return e
        case .ct(let key, let dreg):
            guard let e = alloc("ct") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_CT_KEY), key)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_CT_DREG), dreg)
            return e
        case .lookup(let sreg, let dreg, let set):
            guard let e = alloc("lookup") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_LOOKUP_SREG), sreg)
            if let dreg { nftnl_expr_set_u32(e, a(NFTNL_EXPR_LOOKUP_DREG), dreg) }
            nftnl_expr_set_str(e, a(NFTNL_EXPR_LOOKUP_SET), set)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_LOOKUP_FLAGS), 0)
            return e
        case .nat(let type, let family, let addr, let proto, let flags):
            guard let e = alloc("nat") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_TYPE), type)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_FAMILY), family)
            if let addr {
                nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_REG_ADDR_MIN), addr)
                nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_REG_ADDR_MAX), addr)
            }
            if let proto {
                nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_REG_PROTO_MIN), proto)
                nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_REG_PROTO_MAX), proto)
            }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_NAT_FLAGS), flags)
            return e
        case .masq:
            return alloc("masq")
        case .immediate(let dreg, let data):
            guard let e = alloc("immediate") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_IMM_DREG), dreg)
            setData(e, NFTNL_EXPR_IMM_DATA, data)
            return e
        case .verdict(let code, let chain):
            guard let e = alloc("immediate") else { return nil }
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_IMM_DREG), 0)
            nftnl_expr_set_u32(e, a(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: code))
            if let chain { nftnl_expr_set_str(e, a(NFTNL_EXPR_IMM_CHAIN), chain) }
            return e
        case .counter(let packets, let bytes):
            guard let e = alloc("counter") else { return nil }
            nftnl_expr_set_u64(e, a(NFTNL_EXPR_CTR_PACKETS), packets)
            nftnl_expr_set_u64(e, a(NFTNL_EXPR_CTR_BYTES), bytes)
            return e
        case .unknown:
            return nil
        }
    }

    static func read(_ e: OpaquePointer) -> Expr {
        let name = nftnl_expr_get_str(e, a(NFTNL_EXPR_NAME)).map { String(cString: $0) } ?? "?"
        func u32(_ attr: Int) -> UInt32 { nftnl_expr_get_u32(e, a(attr)) }
        func has(_ attr: Int) -> Bool { nftnl_expr_is_set(e, a(attr)) }
        func data(_ attr: Int) -> [UInt8] {
            var length: UInt32 = 0
            guard let pointer = nftnl_expr_get(e, a(attr), &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
        }
        switch name {
        case "payload":
            return .payload(base: u32(NFTNL_EXPR_PAYLOAD_BASE), offset: u32(NFTNL_EXPR_PAYLOAD_OFFSET),
                            length: u32(NFTNL_EXPR_PAYLOAD_LEN), dreg: u32(NFTNL_EXPR_PAYLOAD_DREG))
        case "meta" where has(NFTNL_EXPR_META_DREG):
            return .meta(key: u32(NFTNL_EXPR_META_KEY), dreg: u32(NFTNL_EXPR_META_DREG))
        case "cmp":
            return .cmp(op: u32(NFTNL_EXPR_CMP_OP), sreg: u32(NFTNL_EXPR_CMP_SREG), data: data(NFTNL_EXPR_CMP_DATA))
        case "bitwise" where has(NFTNL_EXPR_BITWISE_MASK):
            return .bitwise(sreg: u32(NFTNL_EXPR_BITWISE_SREG), dreg: u32(NFTNL_EXPR_BITWISE_DREG),
                            mask: data(NFTNL_EXPR_BITWISE_MASK), xor: data(NFTNL_EXPR_BITWISE_XOR))
        case "fib":
            return .fib(flags: u32(NFTNL_EXPR_FIB_FLAGS), result: u32(NFTNL_EXPR_FIB_RESULT), dreg: u32(NFTNL_EXPR_FIB_DREG))
        case "ct" where has(NFTNL_EXPR_CT_DREG):
            return .ct(key: u32(NFTNL_EXPR_CT_KEY), dreg: u32(NFTNL_EXPR_CT_DREG))
        case "lookup":
            let set = nftnl_expr_get_str(e, a(NFTNL_EXPR_LOOKUP_SET)).map { String(cString: $0) } ?? ""
            return .lookup(sreg: u32(NFTNL_EXPR_LOOKUP_SREG), dreg: has(NFTNL_EXPR_LOOKUP_DREG) ? u32(NFTNL_EXPR_LOOKUP_DREG) : nil, set: set)
        case "nat":
            return .nat(type: u32(NFTNL_EXPR_NAT_TYPE), family: u32(NFTNL_EXPR_NAT_FAMILY),
                        addr: has(NFTNL_EXPR_NAT_REG_ADDR_MIN) ? u32(NFTNL_EXPR_NAT_REG_ADDR_MIN) : nil,
                        proto: has(NFTNL_EXPR_NAT_REG_PROTO_MIN) ? u32(NFTNL_EXPR_NAT_REG_PROTO_MIN) : nil,
                        flags: has(NFTNL_EXPR_NAT_FLAGS) ? u32(NFTNL_EXPR_NAT_FLAGS) : 0)
        case "masq":
            return .masq
        case "immediate":
            if has(NFTNL_EXPR_IMM_VERDICT) {
                let chain = has(NFTNL_EXPR_IMM_CHAIN) ? nftnl_expr_get_str(e, a(NFTNL_EXPR_IMM_CHAIN)).map { String(cString: $0) } : nil
                return .verdict(code: Int32(bitPattern: u32(NFTNL_EXPR_IMM_VERDICT)), chain: chain)
            }
            return .immediate(dreg: u32(NFTNL_EXPR_IMM_DREG), data: data(NFTNL_EXPR_IMM_DATA))
        case "counter":
            return .counter(packets: nftnl_expr_get_u64(e, a(NFTNL_EXPR_CTR_PACKETS)), bytes: nftnl_expr_get_u64(e, a(NFTNL_EXPR_CTR_BYTES)))
        default:
            return .unknown(name)
        }
    }

    // MARK: User data (comments), as nft writes it: type, length, NUL-terminated value.

    static func userdata(_ type: UInt8, _ text: String) -> [UInt8] {
        let bytes = Array(text.utf8) + [0]
        return [type, UInt8(bytes.count)] + bytes
    }

    static func comment(in userdata: [UInt8], type: UInt8) -> String? {
        var i = 0
        while i + 2 <= userdata.count {
            let t = userdata[i], length = Int(userdata[i + 1])
            guard i + 2 + length <= userdata.count else { return nil }
            if t == type {
                return String(decoding: userdata[(i + 2)..<(i + 2 + length)].prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            i += 2 + length
        }
        return nil
    }

    // MARK: Rules

    /// A libnftnl rule for `rule`; the caller frees it.
    static func makeRule(_ rule: Rule) throws(BerthError) -> OpaquePointer {
        guard let r = nftnl_rule_alloc() else { throw BerthError(.system, "allocate an nftnl rule") }
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), rule.table)
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
        nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), rule.family.nfproto)
        if let handle = rule.handle { nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue), handle) }
        if let position = rule.position { nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_POSITION.rawValue), position) }
        if let comment = rule.comment {
            let data = userdata(0, comment)
            data.withUnsafeBytes { _ = nftnl_rule_set_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        }
        for expr in Compiler.compile(rule) {
            guard let e = make(expr) else {
                nftnl_rule_free(r)
                throw .invalid("rule \"\(rule.rendered)\" contains an expression Berth cannot build: \(expr)")
            }
            nftnl_rule_add_expr(r, e)
        }
        return r
    }

    /// The `nft --debug=netlink` form of a rule's expressions: one `[ … ]` line each.
    static func debugText(_ rule: Rule) throws(BerthError) -> String {
        let r = try makeRule(rule)
        defer { nftnl_rule_free(r) }
        var buffer = [CChar](repeating: 0, count: 8192)
        let n = nftnl_rule_snprintf(&buffer, buffer.count, r, UInt32(NFTNL_OUTPUT_DEFAULT.rawValue), 0)
        guard n >= 0 else { return "" }
        let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropFirst().map { $0.trimmingPrefixSpaces() }.joined(separator: "\n")
    }

    // MARK: Message building

    /// Builds one message into a scratch buffer of `capacity` bytes with `body`.
    static func message(type: UInt16, family: UInt32, flags: UInt16, sequence: UInt32, capacity: Int = 16384,
                        _ body: (UnsafeMutablePointer<nlmsghdr>) -> Void) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                  let nlh = nftnl_nlmsg_build_hdr(base, type, UInt16(family), flags, sequence) else { return 0 }
            body(nlh)
            return Int(nlh.pointee.nlmsg_len)
        }
        return Array(buffer.prefix(length))
    }

    static func tableMessage(_ table: Table, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        message(type: type, family: table.family.nfproto, flags: flags, sequence: sequence) { nlh in
            guard let t = nftnl_table_alloc() else { return }
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

    static func chainMessage(_ chain: Chain, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        message(type: type, family: chain.family.nfproto, flags: flags, sequence: sequence) { nlh in
            guard let c = nftnl_chain_alloc() else { return }
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

    static func ruleMessage(_ rule: Rule, type: UInt16, flags: UInt16, sequence: UInt32) throws(BerthError) -> [UInt8] {
        var stripped = rule
        if type != MessageType.newRule { stripped.statements = [] }
        let r: OpaquePointer
        if type == MessageType.newRule {
            r = try makeRule(stripped)
        } else {
            guard let bare = nftnl_rule_alloc() else { throw BerthError(.system, "allocate an nftnl rule") }
            nftnl_rule_set_str(bare, UInt16(NFTNL_RULE_TABLE.rawValue), rule.table)
            nftnl_rule_set_str(bare, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
            nftnl_rule_set_u32(bare, UInt16(NFTNL_RULE_FAMILY.rawValue), rule.family.nfproto)
            if let handle = rule.handle { nftnl_rule_set_u64(bare, UInt16(NFTNL_RULE_HANDLE.rawValue), handle) }
            r = bare
        }
        defer { nftnl_rule_free(r) }
        return message(type: type, family: rule.family.nfproto, flags: flags, sequence: sequence, capacity: 32768) { nlh in
            nftnl_rule_nlmsg_build_payload(nlh, r)
        }
    }

    private static func makeSet(_ set: NFTSet, full: Bool, id: UInt32 = 0) -> OpaquePointer? {
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

    static func setMessage(_ set: NFTSet, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        message(type: type, family: set.family.nfproto, flags: flags, sequence: sequence) { nlh in
            guard let s = makeSet(set, full: type == MessageType.newSet, id: sequence) else { return }
            defer { nftnl_set_free(s) }
            nftnl_set_nlmsg_build_payload(nlh, s)
        }
    }

    /// Upper bound of one element's attributes in a NEWSETELEM message.
    static func elementSize(_ element: Element) -> Int {
        96 + Tuple.bytes(element.key).count + Tuple.bytes(element.value ?? []).count + (element.comment?.utf8.count ?? 0)
    }

    /// One message carrying `elements` (none: the whole set, for flush and dumps).
    static func elementsMessage(_ set: NFTSet, _ elements: [Element], type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        let capacity = 1024 + elements.reduce(0) { $0 + elementSize($1) }
        return message(type: type, family: set.family.nfproto, flags: flags, sequence: sequence, capacity: capacity) { nlh in
            guard let s = makeSet(set, full: false) else { return }
            defer { nftnl_set_free(s) }
            for element in elements {
                guard let e = nftnl_set_elem_alloc() else { continue }
                let key = Tuple.bytes(element.key)
                key.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
                if let value = element.value, type == MessageType.newSetElem {
                    let data = Tuple.bytes(value)
                    data.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count)) }
                }
                if let comment = element.comment, type == MessageType.newSetElem {
                    let data = userdata(0, comment)
                    data.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count)) }
                }
                nftnl_set_elem_add(s, e)
            }
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
        }
    }

    /// NFNL_MSG_BATCH_BEGIN, with NFNL_BATCH_GENID when a generation guard is wanted.
    static func batchBegin(sequence: UInt32, generation: UInt32?) -> [UInt8] {
        var attrs: [UInt8] = []
        if let generation {
            attrs = [8, 0, 1, 0] + withUnsafeBytes(of: generation.bigEndian) { Array($0) }
        }
        return batchHeader(type: batchBegin, sequence: sequence, attributes: attrs)
    }

    static func batchEnd(sequence: UInt32) -> [UInt8] {
        batchHeader(type: batchEnd, sequence: sequence, attributes: [])
    }

    private static func batchHeader(type: UInt16, sequence: UInt32, attributes: [UInt8]) -> [UInt8] {
        let length = UInt32(16 + 4 + attributes.count)
        var bytes: [UInt8] = []
        bytes += u32le(length)
        bytes += withUnsafeBytes(of: type.littleEndian) { Array($0) }
        bytes += withUnsafeBytes(of: NetlinkFlags.request.littleEndian) { Array($0) }
        bytes += u32le(sequence) + u32le(0)
        // nfgenmsg: family AF_UNSPEC, version 0, res_id = NFNL_SUBSYS_NFTABLES (big-endian).
        bytes += [0, 0, 0, UInt8(subsystem)]
        return bytes + attributes
    }

    // MARK: Parsing replies

    private static func withHeader<T>(_ message: NetlinkMessage, _ body: (UnsafePointer<nlmsghdr>) -> T?) -> T? {
        var bytes = u32le(UInt32(16 + message.payload.count))
        bytes += withUnsafeBytes(of: message.type.littleEndian) { Array($0) }
        bytes += withUnsafeBytes(of: message.flags.littleEndian) { Array($0) }
        bytes += u32le(message.sequence) + u32le(message.portID) + message.payload
        return bytes.withUnsafeBytes { raw in
            // 16 bytes at least, so the base address exists; still, no force-unwrap on kernel data.
            guard let base = raw.baseAddress else { return nil }
            return body(base.assumingMemoryBound(to: nlmsghdr.self))
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }

    private static func data(_ get: (UnsafeMutablePointer<UInt32>) -> UnsafeRawPointer?) -> [UInt8] {
        var length: UInt32 = 0
        guard let pointer = get(&length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
    }

    static func parseTable(_ message: NetlinkMessage) -> Table? {
        withHeader(message) { nlh in
            guard let t = nftnl_table_alloc() else { return nil }
            defer { nftnl_table_free(t) }
            guard nftnl_table_nlmsg_parse(nlh, t) >= 0, let family = Family(nfproto: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue))) else { return nil }
            let udata = nftnl_table_is_set(t, UInt16(NFTNL_TABLE_USERDATA.rawValue))
                ? data { nftnl_table_get_data(t, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0) } : []
            return Table(family, string(nftnl_table_get_str(t, UInt16(NFTNL_TABLE_NAME.rawValue))), comment: comment(in: udata, type: 0))
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

    static func parseRule(_ message: NetlinkMessage) -> Rule? {
        withHeader(message) { nlh in
            guard let r = nftnl_rule_alloc() else { return nil }
            defer { nftnl_rule_free(r) }
            guard nftnl_rule_nlmsg_parse(nlh, r) >= 0, let family = Family(nfproto: nftnl_rule_get_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue))) else { return nil }
            var exprs: [Expr] = []
            if let iter = nftnl_expr_iter_create(r) {
                while let e = nftnl_expr_iter_next(iter) { exprs.append(read(e)) }
                nftnl_expr_iter_destroy(iter)
            }
            let udata = nftnl_rule_is_set(r, UInt16(NFTNL_RULE_USERDATA.rawValue))
                ? data { nftnl_rule_get_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), $0) } : []
            return Rule(family: family, table: string(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_TABLE.rawValue))),
                        chain: string(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue))),
                        Decompiler.statements(exprs, family: family), comment: comment(in: udata, type: 0),
                        handle: nftnl_rule_get_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue)))
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
                          flags: SetFlags(rawValue: flags & (SetFlags.constant.rawValue | SetFlags.interval.rawValue)),
                          comment: comment(in: udata, type: 7))
        }
    }

    static func parseElements(_ message: NetlinkMessage, of set: NFTSet) -> [Element] {
        parseElementsOrNil(message, of: set) ?? []
    }

    private static func parseElementsOrNil(_ message: NetlinkMessage, of set: NFTSet) -> [Element]? {
        withHeader(message) { nlh -> [Element]? in
            guard let s = nftnl_set_alloc() else { return [] }
            defer { nftnl_set_free(s) }
            guard nftnl_set_elems_nlmsg_parse(nlh, s) >= 0, let iter = nftnl_set_elems_iter_create(s) else { return [] }
            defer { nftnl_set_elems_iter_destroy(iter) }
            var elements: [Element] = []
            // iter_next returns the current element and then advances.
            while let e = nftnl_set_elems_iter_next(iter) {
                func get(_ attr: Int) -> [UInt8] {
                    guard nftnl_set_elem_is_set(e, UInt16(attr)) else { return [] }
                    return data { nftnl_set_elem_get(e, UInt16(attr), $0) }
                }
                if let key = Tuple.parse(get(NFTNL_SET_ELEM_KEY), as: set.keyType) {
                    let value = set.dataType.flatMap { Tuple.parse(get(NFTNL_SET_ELEM_DATA), as: $0) }
                    elements.append(Element(key, value, comment: comment(in: get(NFTNL_SET_ELEM_USERDATA), type: 0)))
                }
            }
            return elements
        }
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> String { String(drop(while: { $0 == " " })) }
}
