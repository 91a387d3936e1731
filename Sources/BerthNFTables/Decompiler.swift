import BerthCore

/// Reads expressions back into statements: the inverse of `Compiler` for Berth's vocabulary.
/// Anything else becomes `.unrecognized`, so a foreign rule is shown, never misread.
enum Decompiler {
    static func statements(_ exprs: [Expr], family: Family) -> [Statement] {
        var out: [Statement] = []
        var i = 0
        var version: IPVersion? = family == .ip ? .ip : family == .ip6 ? .ip6 : nil
        func at(_ n: Int) -> Expr? { i + n < exprs.count ? exprs[i + n] : nil }

        while i < exprs.count {
            switch exprs[i] {
            case .meta(let key, 1) where key == Expr.Key.metaNFProto:
                if case .cmp(Expr.Key.cmpEq, 1, let data) = at(1), data.count == 1 {
                    version = data[0] == 2 ? .ip : data[0] == 10 ? .ip6 : version
                    i += 2
                    continue
                }
            case .meta(let key, 1) where key == Expr.Key.metaL4Proto:
                if case .cmp(Expr.Key.cmpEq, 1, let data) = at(1), data.count == 1 {
                    out.append(.l4proto(data[0])); i += 2; continue
                }
            case .meta(let key, 1) where key == Expr.Key.metaIIFName || key == Expr.Key.metaOIFName:
                // nft compares all 16 bytes of the name; iptables-nft (`-i br0`) the name
                // and its NUL only: the same exact match. (A name without its NUL is a
                // prefix match, `br+`, and stays unrecognized.)
                // Only == and !=: another comparison (<, >=, …) of a name is not Berth's.
                if case .cmp(let op, 1, let data) = at(1), op == Expr.Key.cmpEq || op == Expr.Key.cmpNeq, data.count <= 16, data.last == 0 {
                    let name = String(decoding: data.prefix(while: { $0 != 0 }), as: UTF8.self)
                    let negated = op == Expr.Key.cmpNeq
                    out.append(key == Expr.Key.metaIIFName ? .iifname(name, negated: negated) : .oifname(name, negated: negated))
                    i += 2; continue
                }
            case .payload(Expr.Key.payloadTransport, 2, 2, 1):
                if case .cmp(Expr.Key.cmpEq, 1, let data) = at(1), data.count == 2 {
                    out.append(.thDport(UInt16(data[0]) << 8 | UInt16(data[1]))); i += 2; continue
                }
            case .payload(Expr.Key.payloadNetwork, let offset, let length, 1):
                if let version, let (statement, used) = prefixMatch(version: version, offset: offset, length: Int(length), next: at(1), after: at(2)) {
                    out.append(statement); i += used; continue
                }
            case .fib(Expr.Key.fibDaddr, Expr.Key.fibAddrType, 1):
                if case .cmp(Expr.Key.cmpEq, 1, let data) = at(1), data == u32le(Expr.Key.rtnLocal) {
                    out.append(.fibDaddrTypeLocal); i += 2; continue
                }
            case .ct(let key, 1):
                if case .bitwise(1, 1, let mask, let xor) = at(1), mask.count == 4, xor == u32le(0),
                   case .cmp(Expr.Key.cmpNeq, 1, let zero) = at(2), zero == u32le(0) {
                    let value = mask.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
                    if key == Expr.Key.ctState { out.append(.ctState(CTState(rawValue: value))); i += 3; continue }
                    if key == Expr.Key.ctStatus, value == Expr.Key.ipsDstNat { out.append(.ctStatusDnat); i += 3; continue }
                }
            case .counter(let packets, let bytes):
                out.append(.counter(packets: packets, bytes: bytes)); i += 1; continue
            case .immediate(1, let address):
                if let (statement, used) = dnat(address: address, next: Array(exprs[(i + 1)...].prefix(2))) {
                    out.append(statement); i += 1 + used; continue
                }
            case .masq:
                out.append(.masquerade); i += 1; continue
            case .verdict(let code, let chain):
                switch (code, chain) {
                case (Expr.Key.verdictAccept, _): out.append(.accept)
                case (Expr.Key.verdictDrop, _): out.append(.drop)
                case (Expr.Key.verdictReturn, _): out.append(.return)
                case (Expr.Key.verdictJump, let c?): out.append(.jump(c))
                case (Expr.Key.verdictGoto, let c?): out.append(.goto(c))
                default: out.append(.unrecognized("verdict \(code)"))
                }
                i += 1; continue
            default:
                break
            }
            if let (statement, used) = dnatMap(Array(exprs[i...])) {
                out.append(statement); i += used; continue
            }
            out.append(.unrecognized(String(describing: exprs[i])))
            i += 1
        }
        return out
    }

    private static func prefixMatch(version: IPVersion, offset: UInt32, length: Int, next: Expr?, after: Expr?) -> (Statement, Int)? {
        let full = version.addressLength
        let source: Bool
        switch (version, offset) {
        case (.ip, 12), (.ip6, 8): source = true
        case (.ip, 16), (.ip6, 24): source = false
        default: return nil
        }
        var bytes: [UInt8]
        var prefix: Int
        var used = 2
        if case .cmp(Expr.Key.cmpEq, 1, let data) = next, data.count == length, length <= full {
            bytes = data + [UInt8](repeating: 0, count: full - length)
            prefix = length * 8
        } else if case .bitwise(1, 1, let mask, let xor) = next, length == full, mask.count == full, Self.isPrefixMask(mask),
                  xor.allSatisfy({ $0 == 0 }), case .cmp(Expr.Key.cmpEq, 1, let data) = after, data.count == full {
            bytes = data
            prefix = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            used = 3
        } else {
            return nil
        }
        guard let address = IPAddress(bytes: bytes), let cidr = try? CIDR(address: address, prefixLength: prefix) else { return nil }
        return (source ? .saddr(cidr) : .daddr(cidr), used)
    }

    private static func dnat(address: [UInt8], next: [Expr]) -> (Statement, Int)? {
        guard let ip = IPAddress(bytes: address) else { return nil }
        if case .immediate(2, let portBytes)? = next.first, portBytes.count == 2,
           case .nat(Expr.Key.natDnat, _, 1?, 2?, _)? = next.dropFirst().first {
            return (.dnat(to: ip, port: UInt16(portBytes[0]) << 8 | UInt16(portBytes[1])), 2)
        }
        if case .nat(Expr.Key.natDnat, _, 1?, nil, _)? = next.first {
            return (.dnat(to: ip, port: nil), 1)
        }
        return nil
    }

    /// Whether `mask` is leading one bits then zero bits only (a prefix), as nft makes for
    /// `ip daddr 10.0.0.0/8`; any other mask is not a prefix match.
    static func isPrefixMask(_ mask: [UInt8]) -> Bool {
        var ended = false
        for byte in mask {
            if ended { if byte != 0 { return false }; continue }
            if byte == 0xff { continue }
            // A partial byte: ones then zeros (0x80, 0xc0, …, 0xfe), then only zero bytes.
            guard byte == 0 || (~byte &+ 1) & ~byte == 0 else { return false }
            ended = true
        }
        return true
    }

    /// Loads into consecutive registers, then a lookup into register 1 and a dnat from it,
    /// or a lookup without a destination register (a set membership match).
    private static func dnatMap(_ exprs: [Expr]) -> (Statement, Int)? {
        var fields: [MapKeyField] = []
        var word = 0
        var i = 0
        while i < exprs.count {
            let reg = Expr.register(word: word)
            let field: MapKeyField?
            switch exprs[i] {
            case .payload(Expr.Key.payloadNetwork, 12, 4, reg): field = .ipSaddr
            case .payload(Expr.Key.payloadNetwork, 16, 4, reg): field = .ipDaddr
            case .payload(Expr.Key.payloadNetwork, 8, 16, reg): field = .ip6Saddr
            case .payload(Expr.Key.payloadNetwork, 24, 16, reg): field = .ip6Daddr
            case .meta(Expr.Key.metaL4Proto, reg): field = .l4proto
            case .payload(Expr.Key.payloadTransport, 2, 2, reg): field = .thDport
            default: field = nil
            }
            guard let field else { break }
            fields.append(field)
            word += Expr.words(field.type.length)
            i += 1
        }
        guard !fields.isEmpty, i < exprs.count else { return nil }
        if case .lookup(1, nil, let set) = exprs[i] { return (.lookup(key: fields, set: set), i + 1) }
        guard i + 1 < exprs.count,
              case .lookup(1, 1?, let map) = exprs[i],
              case .nat(Expr.Key.natDnat, let family, 1?, let proto?, let flags) = exprs[i + 1],
              let version: IPVersion = family == 2 ? .ip : family == 10 ? .ip6 : nil,
              // The port right after the address in the map's data, both taken from it: as
              // Berth compiles it, not another register or range flags.
              proto == Expr.register(word: Expr.words(version.addressLength)),
              flags == Expr.Key.rangeMapIPs | Expr.Key.rangeProtoSpecified else { return nil }
        return (.dnatMap(version, key: fields, map: map), i + 2)
    }
}
