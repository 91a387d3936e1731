import BerthCore
import BerthNFTables

/// One of Berth's two tables, `ip berth` (`FirewallLayout`) and `ip6 berth`
/// (`IPv6FirewallLayout`), as the firewall code walks them: planning, checking, publishing
/// and collecting leftovers are one piece of code for both, told apart only by this value.
struct FirewallFamily: Sendable {
    let family: IPFamily
    let table: Table
    /// The table, maps and chains, in creation order.
    let skeleton: [Transaction.Object]
    /// The rules that belong to no network, in layout order.
    let staticRules: [Rule]
    /// The base chains, in layout order.
    let chains: [Chain]
    /// "" for IPv4, "IPv6 " for IPv6: put before "rule" and "map" in reports, so the two
    /// tables' objects (same chain and map names) are told apart.
    let label: String
    private let staticRuleTexts: Set<String>

    private init(family: IPFamily, table: Table, skeleton: [Transaction.Object], staticRules: [Rule], chains: [Chain], label: String) {
        self.family = family
        self.table = table
        self.skeleton = skeleton
        self.staticRules = staticRules
        self.chains = chains
        self.label = label
        staticRuleTexts = Set(staticRules.map { $0.chain + " " + Renderer.rule($0) })
    }

    static let ipv4 = FirewallFamily(
        family: .ipv4, table: FirewallLayout.table, skeleton: FirewallLayout.skeleton, staticRules: FirewallLayout.staticRules,
        chains: [FirewallLayout.guardChain, FirewallLayout.prerouting, FirewallLayout.output, FirewallLayout.postrouting, FirewallLayout.forward],
        label: "")

    static let ipv6 = FirewallFamily(
        family: .ipv6, table: IPv6FirewallLayout.table, skeleton: IPv6FirewallLayout.skeleton, staticRules: IPv6FirewallLayout.staticRules,
        chains: [IPv6FirewallLayout.guardChain, IPv6FirewallLayout.prerouting, IPv6FirewallLayout.output, IPv6FirewallLayout.postrouting,
                 IPv6FirewallLayout.forward],
        label: "IPv6 ")

    /// The family whose table holds `set`.
    static func of(_ set: NFTSet) -> FirewallFamily {
        set.family == ipv6.table.family ? ipv6 : ipv4
    }

    /// Whether `rule` is one of this table's static rules (shared by every instance):
    /// compared by what it says, comment included.
    func isStatic(_ rule: Rule) -> Bool {
        staticRuleTexts.contains(rule.chain + " " + Renderer.rule(rule))
    }

    /// "nftables table ip6 berth", for reports.
    var tableDescription: String { "nftables table \(table.family) \(table.name)" }
}
