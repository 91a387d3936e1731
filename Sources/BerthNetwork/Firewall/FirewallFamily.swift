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
    /// Static rules of an earlier Berth that `staticRules` replaced: deleted by `reconcile`.
    let supersededStaticRules: [Rule]
    /// The base chains, in layout order.
    let chains: [Chain]
    /// `publication_hairpin`, and the static rule that masquerades through it: what a
    /// publication's hairpin needs, added by a publish to a table an earlier Berth made.
    let hairpinSet: NFTSet
    let hairpinRule: Rule
    /// "" for IPv4, "IPv6 " for IPv6: put before "rule" and "map" in reports, so the two
    /// tables' objects (same chain and map names) are told apart.
    let label: String
    private let staticRuleTexts: Set<String>

    private let supersededRuleTexts: Set<String>

    private init(family: IPFamily, table: Table, skeleton: [Transaction.Object], staticRules: [Rule], supersededStaticRules: [Rule],
                 chains: [Chain], hairpinSet: NFTSet, hairpinRule: Rule, label: String) {
        self.family = family
        self.table = table
        self.skeleton = skeleton
        self.staticRules = staticRules
        self.supersededStaticRules = supersededStaticRules
        self.chains = chains
        self.hairpinSet = hairpinSet
        self.hairpinRule = hairpinRule
        self.label = label
        staticRuleTexts = Set(staticRules.map { $0.chain + " " + Renderer.rule($0) })
        supersededRuleTexts = Set(supersededStaticRules.map { $0.chain + " " + Renderer.rule($0) })
    }

    static let ipv4 = FirewallFamily(
        family: .ipv4, table: FirewallLayout.table, skeleton: FirewallLayout.skeleton, staticRules: FirewallLayout.staticRules,
        supersededStaticRules: FirewallLayout.supersededStaticRules,
        chains: [FirewallLayout.guardChain, FirewallLayout.prerouting, FirewallLayout.output, FirewallLayout.postrouting, FirewallLayout.forward],
        hairpinSet: FirewallLayout.publicationHairpin,
        hairpinRule: FirewallLayout.hairpinRule(table: FirewallLayout.table, chain: FirewallLayout.postrouting, key: [.ipSaddr, .ipDaddr],
                                                set: FirewallLayout.publicationHairpin),
        label: "")

    static let ipv6 = FirewallFamily(
        family: .ipv6, table: IPv6FirewallLayout.table, skeleton: IPv6FirewallLayout.skeleton, staticRules: IPv6FirewallLayout.staticRules,
        supersededStaticRules: IPv6FirewallLayout.supersededStaticRules,
        chains: [IPv6FirewallLayout.guardChain, IPv6FirewallLayout.prerouting, IPv6FirewallLayout.output, IPv6FirewallLayout.postrouting,
                 IPv6FirewallLayout.forward],
        hairpinSet: IPv6FirewallLayout.publicationHairpin,
        hairpinRule: FirewallLayout.hairpinRule(table: IPv6FirewallLayout.table, chain: IPv6FirewallLayout.postrouting, key: [.ip6Saddr, .ip6Daddr],
                                                set: IPv6FirewallLayout.publicationHairpin),
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

    /// Whether `rule` is either table's `hairpinRule`: a static rule only publications use.
    static func isHairpinRule(_ rule: Rule) -> Bool {
        [ipv4, ipv6].contains { $0.hairpinRule.chain == rule.chain && Renderer.rule($0.hairpinRule) == Renderer.rule(rule) }
    }

    /// Whether `rule` is a static rule of an earlier Berth that the layout replaced
    /// (`supersededStaticRules`): shared like the static rules, and `reconcile`'s to delete.
    func isSuperseded(_ rule: Rule) -> Bool {
        supersededRuleTexts.contains(rule.chain + " " + Renderer.rule(rule))
    }

    /// What of the skeleton `table` holds otherwise than Berth makes it, in words: a chain
    /// of Berth's name that is not a base chain of the same type, hook, priority and policy,
    /// a map of Berth's name of other key or data types or flags, or one Berth cannot read.
    /// Another program's table that happens to be called `berth`, or someone's edit: Berth
    /// never changes them (every instance shares the table), and a network or publish
    /// would not work through them. Missing objects are not mismatches (`reconcile` adds
    /// them); a table made by any Berth so far has none.
    func mismatches(in table: Ruleset.TableContents) -> [String] {
        var found: [String] = []
        // An owned table refuses every change but its owner's (EPERM, which would read as a
        // missing CAP_NET_ADMIN); a dormant one holds the rules but hooks no chain, so
        // nothing is published or masqueraded. Berth makes neither, and does not undo
        // either: someone chose them.
        if table.table.flags.contains(.owner) {
            found.append("\(label)table is owned by the process of netlink port \(table.table.owner.map(String.init) ?? "unknown") (flag owner): only that process may change it")
        }
        if table.table.flags.contains(.dormant) {
            found.append("\(label)table is dormant (flag dormant): its chains see no packets")
        }
        for object in skeleton {
            switch object {
            case .chain(let chain):
                guard let present = table.chains.first(where: { $0.chain.name == chain.name })?.chain, present.base != chain.base else { continue }
                let want = chain.base?.rendered ?? "a regular chain"
                found.append("\(label)chain \(chain.name) is \(present.base.map { "'\($0.rendered)'" } ?? "not a base chain"), not '\(want)'")
            case .set(let set):
                if table.unreadable.contains("set \(set.name)") {
                    found.append("\(label)map \(set.name) is of types Berth does not know, not '\(Self.typeText(set))'")
                    continue
                }
                guard let present = table.sets.first(where: { $0.set.name == set.name })?.set,
                      present.keyType != set.keyType || present.dataType != set.dataType || present.flags != set.flags else { continue }
                found.append("\(label)\(present.isMap ? "map" : "set") \(set.name) is '\(Self.typeText(present))', not '\(Self.typeText(set))'")
            default:
                break
            }
        }
        return found
    }

    /// `type KEY : DATA` (and its flags), as nft prints a map's type line.
    private static func typeText(_ set: NFTSet) -> String {
        var text = "type \(set.keyType)" + (set.dataType.map { " : \($0)" } ?? "")
        if set.flags.contains(.constant) { text += "; flags constant" }
        if set.flags.contains(.interval) { text += "; flags interval" }
        // Flags Berth never sets (timeout, dynamic, …), as their bits.
        let other = set.flags.subtracting([.constant, .interval]).rawValue
        if other != 0 { text += "; flags 0x" + String(other, radix: 16) }
        return text
    }

    /// "nftables table ip6 berth", for reports.
    var tableDescription: String { "nftables table \(table.family) \(table.name)" }
}
