import BerthCore
import BerthNFTables

/// The IPv6 side of a dual-stack network's firewall: the `ip6 berth` table of
/// `IPv6FirewallLayout` (docs/nftables.md, "IPv6"), beside `ip berth` and shaped like it.
/// Only dual-stack networks touch it, so an IPv4-only host never reads or makes it. What
/// both tables share (planning, publishing, leftovers) is written once, over
/// `FirewallFamily`; this file holds what only the IPv6 side has.
extension Firewall {
    /// Berth's IPv6 table as it is now; nil when it does not exist.
    func table6() throws(BerthError) -> Ruleset.TableContents? {
        try table(.ipv6)
    }

    /// The IPv6 rules of `network` as this instance tags them; none for an IPv4-only network.
    func rules6(of network: NetworkRecord) -> [Rule] {
        guard let subnet = network.ipv6Subnet else { return [] }
        return IPv6FirewallLayout.networkRules(name: network.name, instance: instance.id, subnet: subnet, bridge: network.bridge,
                                               isInternal: network.isInternal)
    }

    /// The rules of `network` in the table of `family`.
    func rules(of network: NetworkRecord, in family: FirewallFamily) -> [Rule] {
        family.family == .ipv6 ? rules6(of: network) : rules(of: network)
    }

    /// Adds to `transaction` what `current6` lacks of the IPv6 table's skeleton and static
    /// rules and of the network's IPv6 rules.
    func addIPv6(of network: NetworkRecord, to transaction: inout Transaction, current6: Ruleset.TableContents?) {
        if current6 == nil {
            for object in IPv6FirewallLayout.skeleton { transaction.add(object) }
            for rule in IPv6FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        }
        let present = current6?.chains.contains { $0.rules.contains { isTagged($0, with: network) } } ?? false
        if !present {
            for rule in rules6(of: network) { transaction.add(.rule(rule)) }
        }
    }
}
