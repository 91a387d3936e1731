/// One nf_tables expression, in Swift, between the typed statements and libnftnl objects.
/// Registers use the kernel's numbering (1–4 for 16-byte registers, 8–23 for 32-bit ones,
/// 0 for the verdict).
enum Expr: Sendable, Hashable {
    case payload(base: UInt32, offset: UInt32, length: UInt32, dreg: UInt32)
    case meta(key: UInt32, dreg: UInt32)
    case cmp(op: UInt32, sreg: UInt32, data: [UInt8])
    case bitwise(sreg: UInt32, dreg: UInt32, mask: [UInt8], xor: [UInt8])
    case fib(flags: UInt32, result: UInt32, dreg: UInt32)
    case ct(key: UInt32, dreg: UInt32)
    case lookup(sreg: UInt32, dreg: UInt32?, set: String)
    case nat(type: UInt32, family: UInt32, addr: UInt32?, proto: UInt32?, flags: UInt32)
    case masq
    case immediate(dreg: UInt32, data: [UInt8])
    case verdict(code: Int32, chain: String?)
    case counter(packets: UInt64, bytes: UInt64)
    case unknown(String)

    enum Key {
        static let payloadNetwork: UInt32 = 1
        static let payloadTransport: UInt32 = 2
        static let metaNFProto: UInt32 = 15
        static let metaL4Proto: UInt32 = 16
        static let metaIIFName: UInt32 = 6
        static let metaOIFName: UInt32 = 7
        static let cmpEq: UInt32 = 0
        static let cmpNeq: UInt32 = 1
        static let fibDaddr: UInt32 = 2
        static let fibAddrType: UInt32 = 3
        static let ctState: UInt32 = 0
        static let ctStatus: UInt32 = 2
        static let natDnat: UInt32 = 1
        static let rtnLocal: UInt32 = 2
        static let ipsDstNat: UInt32 = 0x20
        static let rangeMapIPs: UInt32 = 1
        static let rangeProtoSpecified: UInt32 = 2
        static let verdictAccept: Int32 = 1
        static let verdictDrop: Int32 = 0
        static let verdictReturn: Int32 = -5
        static let verdictJump: Int32 = -3
        static let verdictGoto: Int32 = -4
    }

    /// nft's 32-bit register index `k` (0-based) as the kernel register number: a 16-byte
    /// register where aligned, for compatibility, else a 32-bit one.
    static func register(word k: Int) -> UInt32 {
        k % 4 == 0 ? UInt32(1 + k / 4) : UInt32(8 + k)
    }

    static func words(_ bytes: Int) -> Int { (bytes + 3) / 4 }
}

func u32le(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
