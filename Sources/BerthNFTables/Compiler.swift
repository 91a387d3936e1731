import BerthCore

/// Compiles statements to expressions the way nft 1.0.6 does, so that `nft list` prints
/// Berth's rules back exactly as Berth renders them.
enum Compiler {
    static func compile(_ rule: Rule) -> [Expr] {
        var exprs: [Expr] = []
        var nfproto: IPVersion?
        for statement in rule.statements {
            // An inet table sees both families: nft adds `meta nfproto` before the first
            // statement that needs one, and hides it when printing.
            if rule.family == .inet, let version = statement.ipVersion, nfproto != version {
                exprs += [.meta(key: Expr.Key.metaNFProto, dreg: 1), .cmp(op: Expr.Key.cmpEq, sreg: 1, data: [UInt8(version.nfproto)])]
                nfproto = version
            }
            exprs += compile(statement)
        }
        return exprs
    }

    static func compile(_ statement: Statement) -> [Expr] {
        switch statement {
        case .l4proto(let p):
            return [.meta(key: Expr.Key.metaL4Proto, dreg: 1), .cmp(op: Expr.Key.cmpEq, sreg: 1, data: [p])]
        case .thDport(let port):
            return [.payload(base: Expr.Key.payloadTransport, offset: 2, length: 2, dreg: 1),
                    .cmp(op: Expr.Key.cmpEq, sreg: 1, data: Value.port(port).bytes)]
        case .saddr(let cidr):
            return prefixMatch(cidr, source: true)
        case .daddr(let cidr):
            return prefixMatch(cidr, source: false)
        case .iifname(let name, let negated):
            return [.meta(key: Expr.Key.metaIIFName, dreg: 1), .cmp(op: negated ? Expr.Key.cmpNeq : Expr.Key.cmpEq, sreg: 1, data: Value.padded(name))]
        case .oifname(let name, let negated):
            return [.meta(key: Expr.Key.metaOIFName, dreg: 1), .cmp(op: negated ? Expr.Key.cmpNeq : Expr.Key.cmpEq, sreg: 1, data: Value.padded(name))]
        case .fibDaddrTypeLocal:
            return [.fib(flags: Expr.Key.fibDaddr, result: Expr.Key.fibAddrType, dreg: 1),
                    .cmp(op: Expr.Key.cmpEq, sreg: 1, data: u32le(Expr.Key.rtnLocal))]
        case .ctState(let state):
            return flagTest(key: Expr.Key.ctState, mask: state.rawValue)
        case .ctStatusDnat:
            return flagTest(key: Expr.Key.ctStatus, mask: Expr.Key.ipsDstNat)
        case .counter(let packets, let bytes):
            return [.counter(packets: packets, bytes: bytes)]
        case .dnat(let address, let port):
            var exprs: [Expr] = [.immediate(dreg: 1, data: address.bytes)]
            if let port { exprs.append(.immediate(dreg: 2, data: Value.port(port).bytes)) }
            exprs.append(.nat(type: Expr.Key.natDnat, family: address.family == .ipv4 ? 2 : 10, addr: 1, proto: port == nil ? nil : 2,
                              flags: Expr.Key.rangeMapIPs | (port == nil ? 0 : Expr.Key.rangeProtoSpecified)))
            return exprs
        case .dnatMap(let version, let key, let map):
            var exprs = load(key)
            exprs.append(.lookup(sreg: 1, dreg: 1, set: map))
            exprs.append(.nat(type: Expr.Key.natDnat, family: version.nfproto, addr: 1,
                              proto: Expr.register(word: Expr.words(version.addressLength)),
                              flags: Expr.Key.rangeMapIPs | Expr.Key.rangeProtoSpecified))
            return exprs
        case .lookup(let key, let set):
            // As nft 1.0.6: `ip saddr . ip daddr @s` loads into reg 1 and reg 9, then looks up
            // without a destination register.
            return load(key) + [.lookup(sreg: 1, dreg: nil, set: set)]
        case .masquerade: return [.masq]
        case .accept: return [.verdict(code: Expr.Key.verdictAccept, chain: nil)]
        case .drop: return [.verdict(code: Expr.Key.verdictDrop, chain: nil)]
        case .return: return [.verdict(code: Expr.Key.verdictReturn, chain: nil)]
        case .jump(let chain): return [.verdict(code: Expr.Key.verdictJump, chain: chain)]
        case .goto(let chain): return [.verdict(code: Expr.Key.verdictGoto, chain: chain)]
        case .unrecognized(let text): return [.unknown(text)]
        }
    }

    /// The fields of a set's or map's key loaded into consecutive 32-bit registers from
    /// register 1, as nft lays out a concatenation.
    static func load(_ key: [MapKeyField]) -> [Expr] {
        var exprs: [Expr] = []
        var word = 0
        for field in key {
            exprs += load(field, into: Expr.register(word: word))
            word += Expr.words(field.type.length)
        }
        return exprs
    }

    static func load(_ field: MapKeyField, into reg: UInt32) -> [Expr] {
        switch field {
        case .ipSaddr: [.payload(base: Expr.Key.payloadNetwork, offset: 12, length: 4, dreg: reg)]
        case .ipDaddr: [.payload(base: Expr.Key.payloadNetwork, offset: 16, length: 4, dreg: reg)]
        case .ip6Saddr: [.payload(base: Expr.Key.payloadNetwork, offset: 8, length: 16, dreg: reg)]
        case .ip6Daddr: [.payload(base: Expr.Key.payloadNetwork, offset: 24, length: 16, dreg: reg)]
        case .l4proto: [.meta(key: Expr.Key.metaL4Proto, dreg: reg)]
        case .thDport: [.payload(base: Expr.Key.payloadTransport, offset: 2, length: 2, dreg: reg)]
        }
    }

    /// nft loads only the prefix's whole bytes when the prefix is byte aligned, else the whole
    /// address through a mask.
    static func prefixMatch(_ cidr: CIDR, source: Bool) -> [Expr] {
        let v4 = cidr.family == .ipv4
        let offset: UInt32 = v4 ? (source ? 12 : 16) : (source ? 8 : 24)
        let full = v4 ? 4 : 16
        let network = cidr.network.address.bytes
        if cidr.prefixLength % 8 == 0 {
            let length = cidr.prefixLength / 8
            return [.payload(base: Expr.Key.payloadNetwork, offset: offset, length: UInt32(length), dreg: 1),
                    .cmp(op: Expr.Key.cmpEq, sreg: 1, data: Array(network.prefix(length)))]
        }
        var mask = [UInt8](repeating: 0, count: full)
        for bit in 0..<cidr.prefixLength { mask[bit / 8] |= 0x80 >> UInt8(bit % 8) }
        return [.payload(base: Expr.Key.payloadNetwork, offset: offset, length: UInt32(full), dreg: 1),
                .bitwise(sreg: 1, dreg: 1, mask: mask, xor: [UInt8](repeating: 0, count: full)),
                .cmp(op: Expr.Key.cmpEq, sreg: 1, data: network)]
    }

    static func flagTest(key: UInt32, mask: UInt32) -> [Expr] {
        [.ct(key: key, dreg: 1), .bitwise(sreg: 1, dreg: 1, mask: u32le(mask), xor: u32le(0)),
         .cmp(op: Expr.Key.cmpNeq, sreg: 1, data: u32le(0))]
    }
}
