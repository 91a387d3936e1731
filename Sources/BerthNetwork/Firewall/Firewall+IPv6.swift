import BerthCore
import BerthNFTables

/// The IPv6 side of a dual-stack network's firewall: the `ip6 berth` table of
/// `IPv6FirewallLayout` (docs/nftables.md, "IPv6"), beside `ip berth` and shaped like it.
/// Only dual-stack networks touch it, so an IPv4-only host never reads or makes it.
extension Firewall {
    /// Berth's IPv6 table as it is now; nil when it does not exist.
    func table6() throws(BerthError) -> Ruleset.TableContents? {
        try backend.list(table: IPv6FirewallLayout.table)
    }

    /// The IPv6 rules of `network` as this instance tags them; none for an IPv4-only network.
    func rules6(of network: NetworkRecord) -> [Rule] {
        guard let subnet = network.ipv6Subnet else { return [] }
        return IPv6FirewallLayout.networkRules(name: network.name, instance: instance.id, subnet: subnet, bridge: network.bridge,
                                               isInternal: network.isInternal)
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

    /// Whether `rule` is one of the IPv6 table's static rules.
    static func isStaticIPv6(_ rule: Rule) -> Bool {
        staticIPv6RuleTexts.contains(rule.chain + " " + Renderer.rule(rule))
    }

    private static let staticIPv6RuleTexts = Set(IPv6FirewallLayout.staticRules.map { $0.chain + " " + Renderer.rule($0) })

    /// Takes back what `installNetwork` added to the IPv6 table: the table if it is new and
    /// holds nothing of anyone else's by now, else the network's IPv6 rules if they are new.
    func removeIPv6(_ network: NetworkRecord, addedSince before: Presence) throws(BerthError) {
        guard let current6 = try table6() else { return }
        if !before.hasTable6 {
            let others = current6.chains.contains { $0.rules.contains { !Self.isStaticIPv6($0) && !isTagged($0, with: network) } }
                || current6.sets.contains { !$0.elements.isEmpty }
            if !others {
                var transaction = Transaction()
                transaction.destroy(.table(IPv6FirewallLayout.table))
                try backend.apply(transaction)
                return
            }
        }
        if !before.hasNetworkRules6 {
            var transaction = Transaction()
            for chain in current6.chains {
                for rule in chain.rules where isTagged(rule, with: network) { transaction.destroy(.rule(rule)) }
            }
            if !transaction.isEmpty { try backend.apply(transaction) }
        }
    }
}

extension Firewall {
    /// Deletes this instance's IPv6 rules tagged with a network the state does not know;
    /// returns them in words. (The IPv6 maps hold no elements yet: endpoints get no IPv6
    /// publishes before phase 2's publishing step.)
    func removeIPv6Leftovers(knownNetworks: Set<String>) throws(BerthError) -> [String] {
        guard let current6 = try table6() else { return [] }
        var transaction = Transaction()
        var removed: [String] = []
        for chain in current6.chains {
            for rule in chain.rules {
                guard let tag = KernelNames.Tag(rule.comment), tag.kind == .network, tag.instance == instance.id,
                      !knownNetworks.contains(tag.owner) else { continue }
                transaction.destroy(.rule(rule))
                removed.append("IPv6 rule in chain \(chain.chain.name) of network \(tag.owner)")
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
        return removed
    }
}

extension Firewall {
    /// The plan for the `ip6 berth` table: its skeleton and static rules, and the IPv6
    /// rules of the dual-stack networks among `networks` — nothing when there is none (a
    /// host without dual-stack networks needs no ip6 table).
    func plan6(networks: [NetworkRecord], table6: Ruleset.TableContents?) -> Plan {
        var plan = Plan()
        let networkRules = networks.flatMap(rules6(of:))
        guard !networkRules.isEmpty else { return plan }
        guard let table6 else {
            plan.missing.append(Item(owner: nil, object: "nftables table \(IPv6FirewallLayout.table.family) \(IPv6FirewallLayout.table.name)"))
            for object in IPv6FirewallLayout.skeleton { plan.transaction.add(object) }
            for rule in IPv6FirewallLayout.staticRules + networkRules { plan.transaction.add(.rule(rule)) }
            return plan
        }
        planSkeleton(&plan, table: table6, skeleton: IPv6FirewallLayout.skeleton)
        for chain in [IPv6FirewallLayout.guardChain, IPv6FirewallLayout.prerouting, IPv6FirewallLayout.output,
                      IPv6FirewallLayout.postrouting, IPv6FirewallLayout.forward] {
            let present = table6.chains.first { $0.chain.name == chain.name }?.rules ?? []
            planStaticRules(&plan, chain: chain.name, present: present, staticRules: IPv6FirewallLayout.staticRules)
            planNetworkRules(&plan, desired: networkRules.filter { $0.chain == chain.name }, present: present)
        }
        return plan
    }
}
