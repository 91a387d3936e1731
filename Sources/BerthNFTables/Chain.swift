import BerthCore

/// A chain: a base chain attached to a netfilter hook, or a regular chain reached by jump/goto.
public struct Chain: Sendable, Hashable {
    public var family: Family
    public var table: String
    public var name: String
    /// Hook, type, priority and policy; nil for a regular chain.
    public var base: BaseChain?
    public var comment: String?

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
    public enum ChainType: String, Sendable, Hashable { case filter, nat, route }
    public enum Hook: String, Sendable, Hashable, CaseIterable {
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
    public enum Policy: String, Sendable, Hashable { case accept, drop }

    public var type: ChainType
    public var hook: Hook
    public var priority: Priority
    public var policy: Policy

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
    public var value: Int32

    public init(_ value: Int32) { self.value = value }
    public init(integerLiteral value: Int32) { self.value = value }

    public static let raw = Priority(-300)
    public static let mangle = Priority(-150)
    public static let dstnat = Priority(-100)
    public static let filter = Priority(0)
    public static let security = Priority(50)
    public static let srcnat = Priority(100)

    public static func + (lhs: Priority, rhs: Int32) -> Priority { Priority(lhs.value + rhs) }
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
