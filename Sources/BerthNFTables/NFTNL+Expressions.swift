internal import CNFTNL
import BerthCore

/// Expressions: `Expr` to a libnftnl expression and back.
extension NFTNL {
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
            // Berth's masquerade has no flags (random, persistent, fully-random) and no port
            // range: another is read as something else, so `check` does not take it for Berth's.
            if (has(NFTNL_EXPR_MASQ_FLAGS) && u32(NFTNL_EXPR_MASQ_FLAGS) != 0) || has(NFTNL_EXPR_MASQ_REG_PROTO_MIN) {
                return .unknown("masq flags \(has(NFTNL_EXPR_MASQ_FLAGS) ? u32(NFTNL_EXPR_MASQ_FLAGS) : 0)\(has(NFTNL_EXPR_MASQ_REG_PROTO_MIN) ? " to a port range" : "")")
            }
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
}
