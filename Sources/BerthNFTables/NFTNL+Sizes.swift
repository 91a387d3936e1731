import BerthCore

/// Upper bounds of the bytes libnftnl writes into a message: `NFTNL.message` hands it a
/// buffer it fills without checking the end (`mnl_attr_put*`), so every buffer is sized from
/// what goes in, never a fixed guess.
extension NFTNL {
    /// The kernel's limit of expressions in one rule (NFT_RULE_MAXEXPRS): a rule with more is
    /// refused whole (EINVAL).
    static let maxExpressionsPerRule = 128

    /// A netlink attribute's length field is 16 bits: the nested NFTA_RULE_EXPRESSIONS of a
    /// rule cannot be longer, or its length silently wraps.
    static let maxNestedAttributeLength = Int(UInt16.max)

    /// The bytes of an attribute carrying `bytes` bytes: header plus payload, padded to 4.
    static func attributeSize(_ bytes: Int) -> Int { 4 + (bytes + 3) & ~3 }

    /// The bytes of a string attribute (NUL-terminated).
    static func attributeSize(_ string: String) -> Int { attributeSize(string.utf8.count + 1) }

    /// The bytes of a nested NFTA_DATA_VALUE holding `bytes`.
    static func dataSize(_ bytes: Int) -> Int { 4 + attributeSize(bytes) }

    /// Upper bound of one expression in NFTA_RULE_EXPRESSIONS: its list element, its name
    /// (at most 16 bytes padded: "immediate" is the longest Berth writes), its data nest and
    /// each attribute it sets (a scalar at most 12 bytes: an u64).
    static func expressionSize(_ expr: Expr) -> Int {
        let frame = 4 + attributeSize(16) + 4
        let scalar = 12
        switch expr {
        case .payload: return frame + 4 * scalar
        case .meta, .ct: return frame + 2 * scalar
        case .cmp(_, _, let data): return frame + 2 * scalar + dataSize(data.count)
        case .bitwise(_, _, let mask, let xor): return frame + 3 * scalar + dataSize(mask.count) + dataSize(xor.count)
        case .fib: return frame + 3 * scalar
        case .lookup(_, _, let set): return frame + 3 * scalar + attributeSize(set)
        case .nat: return frame + 7 * scalar
        case .masq: return frame
        case .immediate(_, let data): return frame + scalar + dataSize(data.count)
        case .verdict(_, let chain): return frame + scalar + 4 + 4 + scalar + (chain.map { attributeSize($0) } ?? 0)
        case .counter: return frame + 2 * scalar
        case .unknown: return frame
        }
    }

    /// Upper bound of `exprs` as NFTA_RULE_EXPRESSIONS, nest header included.
    static func expressionsSize(_ exprs: [Expr]) -> Int {
        exprs.reduce(4) { $0 + expressionSize($1) }
    }

    /// Upper bound of a rule message: headers (nlmsghdr and nfgenmsg), table, chain, handle,
    /// position, user data and the expressions.
    static func ruleMessageSize(_ rule: Rule, exprs: [Expr]) -> Int {
        16 + 4 + attributeSize(rule.table) + attributeSize(rule.chain) + 2 * 12
            + attributeSize(2 + (rule.comment?.utf8.count ?? 0) + 1) + expressionsSize(exprs)
    }

    /// Upper bound of a message of fixed-size attributes and the strings `strings` (names,
    /// comments): a table, chain or set message, or a dump request naming a table.
    static func namedMessageSize(_ strings: String?...) -> Int {
        1024 + strings.reduce(0) { $0 + ($1.map { attributeSize($0) + 8 } ?? 0) }
    }
}
