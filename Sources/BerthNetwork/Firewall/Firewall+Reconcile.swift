import BerthCore
import BerthNFTables

/// What one instance's state calls for in Berth's shared table, compared with the table as
/// read: what `check` reports and `reconcile` applies.
///
/// Reconciling never rebuilds the table: the table, chains, maps and static rules are shared
/// by every instance and are only ever added when missing (a missing static rule is put
/// back in its place in the chain), and of the rules and elements only this instance's are
/// added or re-tagged — or, for a rule of one of its networks that the layout no longer
/// calls for (`Plan.stale`), deleted. Another instance's objects are left exactly as they are.
extension Firewall {
    /// One object in words, with the tag of its owner (nil for the shared skeleton).
    struct Item {
        var owner: String?
        var object: String
        /// A shared object only publications use (`publication_hairpin` and its rule): an
        /// endpoint's check leaves it out (`verifyEndpoint`), `check` reports it.
        var publicationsOnly = false
    }

    /// The changes that make the table what the state calls for.
    struct Plan {
        var transaction = Transaction()
        /// Objects missing from the table, added by `transaction`.
        var missing: [Item] = []
        /// Objects of a store made before instances, present with an untagged comment:
        /// `transaction` replaces them with tagged ones (not a problem for `check`).
        var retagged: [Item] = []
        /// This instance's rules of a network that the layout no longer calls for — the
        /// subnet guard an earlier Berth gave a network on an adopted bridge, which gets none
        /// now, or one without the exemption of `lo` (`FirewallLayout.networkRules`) — and
        /// static rules the layout replaced (`FirewallFamily.supersededStaticRules`):
        /// `transaction` deletes them by the handles read.
        var stale: [Item] = []
        /// Elements whose key another owner holds: `transaction` leaves them.
        var conflicts: [Item] = []
        /// Chains and maps of the skeleton present otherwise than Berth makes them
        /// (`FirewallFamily.mismatches(in:)`): `transaction` leaves them, nothing of Berth's
        /// can fix them.
        var foreign: [Item] = []
    }

    /// The plan for `networks` and `endpoints` (those whose veth exists and that are not
    /// being detached: an endpoint without its veth gets no elements) against `table`, the
    /// table of `family` as read. The `ip6 berth` table is called for only by dual-stack
    /// networks and their endpoints' IPv6 elements: for a host without them its plan is empty.
    func plan(_ family: FirewallFamily = .ipv4, networks: [NetworkRecord], endpoints: [EndpointRecord],
              table: Ruleset.TableContents?) -> Plan {
        var plan = Plan()
        let networkRules = networks.flatMap { rules(of: $0, in: family) }
        let elements = endpoints.flatMap { self.elements(of: $0, in: family) }
        if family.family == .ipv6, networkRules.isEmpty, elements.isEmpty { return plan }
        guard let table else {
            plan.missing.append(Item(owner: nil, object: family.tableDescription))
            // The table created, not added: a race with another process refuses the plan
            // whole instead of appending the static rules twice.
            addSkeleton(of: family, to: &plan.transaction)
            for rule in networkRules { plan.transaction.add(.rule(rule)) }
            for (element, map) in elements { plan.transaction.create(.element(element, in: map)) }
            return plan
        }
        planSkeleton(&plan, table: table, skeleton: family.skeleton)
        plan.foreign = family.mismatches(in: table).map { Item(owner: nil, object: $0) }
        for chain in family.chains {
            let present = table.chains.first { $0.chain.name == chain.name }?.rules ?? []
            planStaticRules(&plan, chain: chain.name, present: present, staticRules: family.staticRules)
            planNetworkRules(&plan, desired: networkRules.filter { $0.chain == chain.name }, present: present)
            planStaleRules(&plan, desired: networkRules.filter { $0.chain == chain.name }, present: present, networks: networks)
            planSupersededRules(&plan, present: present, family: family)
        }
        let known = Set(endpoints.map(\.id))
        // Hairpin keys (addresses) already planned: two publications to one address share
        // one element.
        var hairpinKeys: Set<[Value]> = []
        for (element, map) in elements {
            let held = table.sets.first { $0.set.name == map.name }?.elements.first { $0.key == element.key }
            let item = Item(owner: element.comment, object: "element \(element.rendered) of \(family.label)\(map.isMap ? "map" : "set") \(map.name)")
            guard let held else {
                if !map.isMap {
                    guard hairpinKeys.insert(element.key).inserted else { continue }
                }
                plan.missing.append(item)
                plan.transaction.create(.element(element, in: map))
                continue
            }
            if held.value == element.value, held.comment == element.comment { continue }
            if !map.isMap, KernelNames.Tag(held.comment)?.owner != KernelNames.Tag(element.comment)?.owner {
                // Another publication's element of the same address (a set element has no
                // data to point elsewhere): it masquerades this one's hairpin as well.
                continue
            }
            let tag = owns(held.comment) { $0.kind == .endpoint && known.contains($0.owner) }
            if let tag, tag.kind == .endpoint, tag.owner == KernelNames.Tag(element.comment)?.owner {
                // Ours, but untagged or pointing elsewhere: replaced in the same batch.
                plan.transaction.delete(.element(held, in: map))
                plan.transaction.add(.element(element, in: map))
                if held.value == element.value { plan.retagged.append(item) } else { plan.missing.append(item) }
            } else {
                plan.conflicts.append(Item(owner: element.comment,
                                           object: "element \(element.rendered) of \(family.label)map \(map.name): its key is held by \(held.comment.map { "\"\($0)\"" } ?? "an untagged element")"))
            }
        }
        return plan
    }

    func planSkeleton(_ plan: inout Plan, table: Ruleset.TableContents, skeleton: [Transaction.Object]) {
        for object in skeleton {
            switch object {
            case .set(let set) where !table.sets.contains(where: { $0.set.name == set.name }):
                plan.missing.append(Item(owner: nil, object: "\(set.isMap ? "map" : "set") \(set.name)",
                                         publicationsOnly: set.name == FirewallLayout.publicationHairpin.name))
                plan.transaction.add(object)
            case .chain(let chain) where !table.chains.contains(where: { $0.chain.name == chain.name }):
                plan.missing.append(Item(owner: nil, object: "chain \(chain.name)"))
                plan.transaction.add(object)
            default:
                break
            }
        }
    }

    /// Static rules lead their chain, in layout order: a missing one goes back right after
    /// the static rule before it that is present, or first in the chain.
    func planStaticRules(_ plan: inout Plan, chain: String, present: [Rule], staticRules: [Rule]) {
        let statics = staticRules.filter { $0.chain == chain }
        var predecessor: UInt64?
        var pending: [Rule] = []
        func flush(_ plan: inout Plan) {
            // Each lands right after `predecessor` (or first): queue them last to first.
            for rule in pending.reversed() {
                var placed = rule
                if let predecessor {
                    placed.position = predecessor
                    plan.transaction.add(.rule(placed))
                } else {
                    plan.transaction.insert(placed)
                }
            }
            pending = []
        }
        for rule in statics {
            if let found = present.first(where: { Renderer.rule($0) == Renderer.rule(rule) }) {
                flush(&plan)
                predecessor = found.handle
            } else {
                plan.missing.append(Item(owner: rule.comment, object: "rule '\(Renderer.rule(rule))' in chain \(chain)",
                                         publicationsOnly: FirewallFamily.isHairpinRule(rule)))
                pending.append(rule)
            }
        }
        flush(&plan)
    }

    /// This instance's network rules go at the end of their chain; an untagged twin of a
    /// store made before instances is replaced by the tagged rule.
    func planNetworkRules(_ plan: inout Plan, desired: [Rule], present: [Rule]) {
        let texts = Set(present.map(Renderer.rule))
        for rule in desired where !texts.contains(Renderer.rule(rule)) {
            let item = Item(owner: rule.comment, object: "rule '\(Renderer.rule(rule))' in chain \(rule.chain)")
            var untagged = rule
            untagged.comment = KernelNames.Tag(rule.comment).map { KernelNames.networkAliasPrefix + $0.owner }
            if instance.legacy, let twin = present.first(where: { Renderer.rule($0) == Renderer.rule(untagged) }), twin.handle != nil {
                plan.transaction.destroy(.rule(twin))
                plan.retagged.append(item)
            } else {
                plan.missing.append(item)
            }
            plan.transaction.add(.rule(rule))
        }
    }

    /// A static rule of an earlier Berth that the layout replaced (`supersededStaticRules`,
    /// shared by every instance) goes, deleted by its handle in the same guarded batch that
    /// puts its successor in its place (`planStaticRules`): both DNAT lookups of one map
    /// would otherwise stay, the old one still capturing what the new one leaves alone.
    func planSupersededRules(_ plan: inout Plan, present: [Rule], family: FirewallFamily) {
        for rule in present where rule.handle != nil && family.isSuperseded(rule) {
            plan.stale.append(Item(owner: rule.comment, object: "rule '\(Renderer.rule(rule))' in chain \(rule.chain)"))
            plan.transaction.delete(.rule(rule))
        }
    }

    /// A rule in `present` tagged with one of `networks` (this instance's tag, or a store
    /// made before instances' untagged one) whose text, tagged, is none of `desired`, goes:
    /// deleted by its handle, in a plan applied guarded by the generation read before the
    /// table (a handle read here names another's rule once the table was made anew). Rules
    /// of other instances, untagged rules of unknown networks and the static rules are
    /// never touched.
    func planStaleRules(_ plan: inout Plan, desired: [Rule], present: [Rule], networks: [NetworkRecord]) {
        let texts = Set(desired.map(Renderer.rule))
        for rule in present where rule.handle != nil {
            guard let network = networks.first(where: { isTagged(rule, with: $0) }) else { continue }
            var tagged = rule
            tagged.comment = FirewallLayout.networkTag(network.name, instance: instance.id)
            // Desired as it is, or an untagged twin that `planNetworkRules` replaces.
            guard !texts.contains(Renderer.rule(rule)), !texts.contains(Renderer.rule(tagged)) else { continue }
            plan.stale.append(Item(owner: rule.comment, object: "rule '\(Renderer.rule(rule))' in chain \(rule.chain)"))
            plan.transaction.delete(.rule(rule))
        }
    }
}
