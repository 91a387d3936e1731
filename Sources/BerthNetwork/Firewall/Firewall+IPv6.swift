import BerthCore
import BerthNFTables

/// The IPv6 side of a dual-stack network's firewall: the `ip6 berth` table of
/// `IPv6FirewallLayout` (docs/nftables.md, "IPv6"), beside `ip berth` and shaped like it.
/// Dual-stack networks and publications to IPv6 addresses make it; a full `gc` always
/// reads it (a crashed publication may have left elements there). What
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
}
