import BerthCore

/// A rule: statements evaluated left to right, an optional comment, and the kernel's handle
/// once it exists (needed to replace, delete or insert relative to it).
public struct Rule: Sendable, Hashable {
    /// The family of the rule's table.
    public var family: Family
    /// The name of the rule's table.
    public var table: String
    /// The name of the chain the rule is in.
    public var chain: String
    /// The statements, evaluated in order; at least one.
    public var statements: [Statement]
    /// A comment kept in the rule's user data: at most 127 bytes, without quotes or newlines.
    public var comment: String?
    /// The kernel's handle: set when read back; required to replace or delete.
    public var handle: UInt64?
    /// For add/insert: place the rule after (add) or before (insert) the rule with this handle.
    public var position: UInt64?

    /// A rule of `chain`; `handle` to replace or delete a rule read back, `position` to add or
    /// insert next to one. Nothing is checked until a transaction queues it.
    public init(family: Family, table: String, chain: String, _ statements: [Statement], comment: String? = nil,
                handle: UInt64? = nil, position: UInt64? = nil) {
        self.family = family
        self.table = table
        self.chain = chain
        self.statements = statements
        self.comment = comment
        self.handle = handle
        self.position = position
    }

    /// The rule's statements as nft prints them, comment included.
    public var rendered: String { Renderer.rule(self) }

    func validate() throws(BerthError) {
        try Names.validate(table, what: "table")
        try Names.validate(chain, what: "chain")
        try Names.validate(comment: comment, of: "rule in chain \(family) \(table) \(chain)")
        guard !statements.isEmpty else { throw .invalid("rule in chain \(family) \(table) \(chain) has no statements") }
        for statement in statements {
            if let version = statement.ipVersion {
                if (family == .ip && version == .ip6) || (family == .ip6 && version == .ip) {
                    throw .invalid("rule \"\(rendered)\": \(version) statement in a \(family) table")
                }
            }
            switch statement {
            case .iifname(let n, _), .oifname(let n, _):
                guard !n.isEmpty, n.utf8.count < 16 else { throw .invalid("interface name \"\(n)\" must be 1 to 15 bytes") }
            case .jump(let c), .goto(let c):
                try Names.validate(c, what: "chain")
            case .dnatMap(let version, let key, let map):
                try Names.validate(map, what: "map")
                guard !key.isEmpty else { throw .invalid("rule \"\(rendered)\": empty map key") }
                for field in key where [.ipDaddr, .ipSaddr, .ip6Daddr, .ip6Saddr].contains(field) {
                    if (version == .ip) != (field == .ipDaddr || field == .ipSaddr) {
                        throw .invalid("rule \"\(rendered)\": \(field.rendered) in a dnat \(version) map key")
                    }
                }
            case .lookup(let key, let set):
                try Names.validate(set, what: "set")
                guard !key.isEmpty else { throw .invalid("rule \"\(rendered)\": empty set key") }
                if key.contains(where: { $0.ipVersion == .ip }) && key.contains(where: { $0.ipVersion == .ip6 }) {
                    throw .invalid("rule \"\(rendered)\": IPv4 and IPv6 fields in one set key")
                }
            case .dnat(_, let port):
                if port != nil, !statements.contains(where: { if case .l4proto = $0 { true } else { false } }) {
                    throw .invalid("rule \"\(rendered)\": dnat to a port needs a transport protocol match first",
                                   hint: "add .l4proto(6) before the dnat")
                }
            case .saddr(let c), .daddr(let c):
                guard c.prefixLength > 0 else { throw .invalid("rule \"\(rendered)\": a /0 prefix matches everything; drop the match") }
            case .unrecognized(let text):
                throw .invalid("rule contains an unrecognized statement \"\(text)\"")
            default: break
            }
        }
        try validateSize()
    }

    /// Refuses a rule the kernel would not take whole: more expressions than it accepts in
    /// one rule (NFT_RULE_MAXEXPRS), or expressions longer than a netlink attribute can say.
    /// The message is sized from the same expressions, so nothing is written past its end.
    func validateSize() throws(BerthError) {
        let exprs = Compiler.compile(self)
        guard exprs.count <= NFTNL.maxExpressionsPerRule else {
            throw .invalid("rule in chain \(family) \(table) \(chain) compiles to \(exprs.count) nftables expressions; the kernel takes at most \(NFTNL.maxExpressionsPerRule) in one rule",
                           hint: "split the statements over several rules, or match many addresses or ports with a set")
        }
        let bytes = NFTNL.expressionsSize(exprs)
        guard bytes <= NFTNL.maxNestedAttributeLength else {
            throw .invalid("rule in chain \(family) \(table) \(chain) needs up to \(bytes) bytes of expressions; a netlink attribute holds at most \(NFTNL.maxNestedAttributeLength)",
                           hint: "split the statements over several rules")
        }
    }
}
