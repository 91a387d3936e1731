import BerthCore
import BerthNFTables

/// The ruleset the state calls for, compared with and restored into the kernel.
extension Firewall {
    /// Everything Berth's table should hold for these networks and endpoints.
    struct Desired {
        var rules: [Rule] = []
        var elements: [(Element, NFTSet)] = []
    }

    static func desired(networks: [NetworkRecord], endpoints: [EndpointRecord]) -> Desired {
        var desired = Desired(rules: FirewallLayout.staticRules)
        for network in networks {
            desired.rules += FirewallLayout.networkRules(name: network.name, subnet: network.subnet, bridge: network.bridge, isInternal: network.isInternal)
        }
        for endpoint in endpoints {
            for mapping in endpoint.ports {
                desired.elements.append(FirewallLayout.element(for: mapping, container: endpoint.address))
            }
        }
        return desired
    }

    /// Rebuilds Berth's table from the state in one atomic batch: the table is destroyed
    /// and made again, so a flushed, half-deleted or hand-edited table ends up exactly as
    /// the state says. Connections already NATed keep their conntrack bindings.
    func reconcile(networks: [NetworkRecord], endpoints: [EndpointRecord]) throws(BerthError) {
        let desired = Self.desired(networks: networks, endpoints: endpoints)
        var transaction = Transaction()
        transaction.destroy(.table(FirewallLayout.table))
        for object in FirewallLayout.skeleton { transaction.add(object) }
        for rule in desired.rules { transaction.add(.rule(rule)) }
        for (element, map) in desired.elements { transaction.add(.element(element, in: map)) }
        try backend.apply(transaction)
    }

    /// What of the desired ruleset `table` (Berth's table as read, nil when absent) lacks,
    /// in words: missing rules (guards, masquerade, DNAT) and missing map elements, each
    /// with its owner.
    static func missing(networks: [NetworkRecord], endpoints: [EndpointRecord], in table: Ruleset.TableContents?) -> [(owner: String?, object: String)] {
        let desired = Self.desired(networks: networks, endpoints: endpoints)
        guard let table else {
            return [(nil, "nftables table \(FirewallLayout.table.family) \(FirewallLayout.table.name)")]
        }
        var missing: [(owner: String?, object: String)] = []
        var present: [String: Set<String>] = [:]
        for chain in table.chains { present[chain.chain.name] = Set(chain.rules.map(Renderer.rule)) }
        for rule in desired.rules where !(present[rule.chain]?.contains(Renderer.rule(rule)) ?? false) {
            missing.append((rule.comment, "rule '\(Renderer.rule(rule))' in chain \(rule.chain)"))
        }
        var keys: [String: Set<[Value]>] = [:]
        for set in table.sets { keys[set.set.name] = Set(set.elements.map(\.key)) }
        for (element, map) in desired.elements where !(keys[map.name]?.contains(element.key) ?? false) {
            missing.append((element.comment, "element \(element.rendered) of map \(map.name)"))
        }
        return missing
    }
}
