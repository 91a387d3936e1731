import BerthCore

/// A chain: a base chain attached to a netfilter hook, or a regular chain reached by jump/goto.
public struct Chain: Sendable, Hashable {
    /// The family of the chain's table.
    public var family: Family
    /// The name of the chain's table.
    public var table: String
    /// The chain's name, unique in its table: letters, digits, `-`, `_` and `.`, starting with a letter (checked when queued).
    public var name: String
    /// Hook, type, priority and policy; nil for a regular chain.
    public var base: BaseChain?
    /// A comment kept in the chain's user data: at most 127 bytes, without quotes or newlines (checked when queued).
    public var comment: String?

    /// A chain `name` of table `family table`: a base chain if `base` is given, else a regular
    /// chain. Nothing is checked until a transaction queues it (see `Table.chain`).
    public init(family: Family, table: String, name: String, base: BaseChain? = nil, comment: String? = nil) {
        self.family = family
        self.table = table
        self.name = name
        self.base = base
        self.comment = comment
    }

    func validate() throws(BerthError) {
        try Names.validate(table, what: "table")
        try Names.validate(name, what: "chain")
        try Names.validate(comment: comment, of: "chain \(family) \(table) \(name)")
    }
}

/// What makes a chain a base chain.
public struct BaseChain: Sendable, Hashable {
    /// `type filter`, `type nat` (sees a connection's first packet only, for dnat, snat and
    /// masquerade) or `type route` (output only: a changed mark or address reroutes the packet).
    public enum ChainType: String, Sendable, Hashable { case filter, nat, route }
    /// The netfilter hook a base chain is attached to (NF_INET_PRE_ROUTING … POST_ROUTING).
    public enum Hook: String, Sendable, Hashable, CaseIterable {
        /// Before routing (0), to a local socket (1), routed through (2), from a local socket (3),
        /// after routing (4): the NF_INET_* hook numbers.
        case prerouting, input, forward, output, postrouting

        var number: UInt32 {
            switch self {
            case .prerouting: 0
            case .input: 1
            case .forward: 2
            case .output: 3
            case .postrouting: 4
            }
        }
    }
    /// The verdict for a packet that no rule of the base chain decided.
    public enum Policy: String, Sendable, Hashable { case accept, drop }

    /// What the chain may do (nat chains see only a connection's first packet).
    public var type: ChainType
    /// The hook the chain is attached to.
    public var hook: Hook
    /// The order among chains of one hook, lowest first.
    public var priority: Priority
    /// The verdict when no rule decided; accept by default.
    public var policy: Policy

    /// A base chain of `type` at `hook` with `priority`, accepting by default.
    public init(type: ChainType, hook: Hook, priority: Priority, policy: Policy = .accept) {
        self.type = type
        self.hook = hook
        self.priority = priority
        self.policy = policy
    }

    /// As nft prints it atop the chain: `type nat hook prerouting priority dstnat; policy accept;`.
    public var rendered: String {
        "type \(type.rawValue) hook \(hook.rawValue) priority \(priority.rendered(hook: hook)); policy \(policy.rawValue);"
    }
}

/// A base chain's priority; the named values are nft's standard ones.
public struct Priority: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// The number: chains of one hook run from the lowest to the highest.
    public var value: Int32

    /// The priority `value`.
    public init(_ value: Int32) { self.value = value }
    /// The priority written as a number literal.
    public init(integerLiteral value: Int32) { self.value = value }

    /// `raw` (-300): before connection tracking.
    public static let raw = Priority(-300)
    /// `mangle` (-150).
    public static let mangle = Priority(-150)
    /// `dstnat` (-100): destination NAT; nft prints the name only on prerouting.
    public static let dstnat = Priority(-100)
    /// `filter` (0).
    public static let filter = Priority(0)
    /// `security` (50): after filter.
    public static let security = Priority(50)
    /// `srcnat` (100): source NAT; nft prints the name only on postrouting.
    public static let srcnat = Priority(100)

    /// `rhs` after `lhs`: `.filter + 10`.
    public static func + (lhs: Priority, rhs: Int32) -> Priority { Priority(lhs.value + rhs) }
    /// `rhs` before `lhs`: `.dstnat - 10`.
    public static func - (lhs: Priority, rhs: Int32) -> Priority { Priority(lhs.value - rhs) }

    private static let standard: [(Int32, String)] = [
        (-300, "raw"), (-150, "mangle"), (-100, "dstnat"), (0, "filter"), (50, "security"), (100, "srcnat"),
    ]

    /// As nft 1.0.6 prints it: a standard name (± offset up to 10) where nft allows that name
    /// for the hook (dstnat only on prerouting, srcnat only on postrouting), else the number.
    func rendered(hook: BaseChain.Hook) -> String {
        for (base, name) in Self.standard where abs(Int(value) - Int(base)) <= 10 {
            if base == -100, hook != .prerouting { break }
            if base == 100, hook != .postrouting { break }
            let offset = value - base
            if offset > 0 { return "\(name) + \(offset)" }
            if offset < 0 { return "\(name) - \(-offset)" }
            return name
        }
        return String(value)
    }
}
