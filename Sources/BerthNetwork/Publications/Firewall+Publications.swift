import BerthCore
import BerthNFTables

extension Firewall {
    /// Publishes a publication's elements (`publish(_:)`), making in the same batch each of
    /// Berth's tables they go to that does not exist yet (`ip berth` for IPv4, `ip6 berth`
    /// for IPv6; `EndpointRecord.hasElements(in:)`) with its maps, chains and static rules,
    /// so ports can be published without any network of Berth's. All or nothing: a refused
    /// batch (a key another instance or a leftover holds) makes no table either. Returns the
    /// families whose tables the batch made, for `unpublish(_:madeTables:)`.
    ///
    /// A table an earlier Berth made lacks `publication_hairpin` and its rule: the same
    /// batch adds them (`addHairpin`), guarded by the generation read before the table, so
    /// two publishes upgrading it at once never append the rule twice. They stay when the
    /// publish fails: they are the layout's, as a table made by this Berth has them.
    ///
    /// Tables are read only when the elements alone were refused for want of one (or of
    /// the hairpin set). The batch that makes or upgrades them is planned anew up to
    /// `Firewall.installAttempts` times, as a network's install is, when another process's
    /// batch overtook it; the last attempt's error is thrown as it is (an element another
    /// instance holds is refused again each time, and reported).
    func publishMakingTables(_ endpoint: EndpointRecord) throws(BerthError) -> [FirewallFamily] {
        do {
            try publish(endpoint)
            return []
        } catch where error.code == .notFound {
            // No Berth network has made a table the elements go to yet (`ip6 berth` for the
            // IPv6 ones, most often), or an earlier Berth made it without the hairpin set:
            // the batch below makes what is missing with them.
        }
        for attempt in 1...Self.installAttempts {
            let again = attempt < Self.installAttempts
            let generation = try backend.generation()
            var prefix = Transaction()
            var made: [FirewallFamily] = []
            var upgraded = false
            for family in [FirewallFamily.ipv4, .ipv6] where endpoint.hasElements(in: family.family) {
                if let current = try table(family) {
                    if addHairpin(of: family, to: &prefix, current: current) { upgraded = true }
                    continue
                }
                addSkeleton(of: family, to: &prefix)
                made.append(family)
            }
            do {
                try publish(endpoint, after: prefix, generation: upgraded ? generation : nil)
                return made
            } catch where again && error.code == .notFound {
                // A table read as there went before the batch (another state directory's gc
                // deleted it as unused): planned anew, making it this time.
            } catch where again && upgraded && error.code == .conflict {
                // Another process committed since the table was read (maybe the same
                // upgrade): planned anew; a clash on an element is refused again, and reported.
            } catch where again && !made.isEmpty && error.code == .conflict {
                // The table is created, not added: another process that made it since it
                // was read refuses the whole batch. Planned anew against what it made; a
                // clash on an element is refused again, and reported.
                var raced = false
                for family in made where try table(family) != nil { raced = true }
                if !raced { throw error }
            }
        }
        throw BerthError(.internalError, "the publish of \(endpoint.id) ended without an outcome")
    }

    /// Adds to `transaction` what a publication's hairpin needs and `current` (the table of
    /// `family` as read, made by an earlier Berth) lacks: the `publication_hairpin` set, and
    /// its static rule in its place among the static rules (`planStaticRules`); returns
    /// whether anything was added. `check` reports them missing and `reconcile` adds them
    /// too, for a table no publish comes to.
    func addHairpin(of family: FirewallFamily, to transaction: inout Transaction, current: Ruleset.TableContents) -> Bool {
        var plan = Plan()
        if !current.sets.contains(where: { $0.set.name == family.hairpinSet.name }) {
            plan.transaction.add(.set(family.hairpinSet))
        }
        let chain = family.hairpinRule.chain
        if let present = current.chains.first(where: { $0.chain.name == chain })?.rules {
            // Only the hairpin rule is added here; the other static rules, present or not,
            // place it (a missing one is `reconcile`'s to put back).
            let texts = Set(present.map(Renderer.rule))
            let hairpin = Renderer.rule(family.hairpinRule)
            let statics = family.staticRules.filter { $0.chain == chain && (texts.contains(Renderer.rule($0)) || Renderer.rule($0) == hairpin) }
            planStaticRules(&plan, chain: chain, present: present, staticRules: statics)
        }
        guard !plan.transaction.isEmpty else { return false }
        transaction.append(contentsOf: plan.transaction)
        return true
    }

    /// Takes back what `publishMakingTables` did: the elements, then each table of `made`
    /// unless it holds something else by now (another instance's element, a network's
    /// rule), so a failed publish leaves Berth's tables as it found them.
    func unpublish(_ endpoint: EndpointRecord, madeTables made: [FirewallFamily]) throws(BerthError) {
        try unpublish(endpoint)
        guard !made.isEmpty else { return }
        // Guarded by the generation read before the tables: another instance's element
        // published between the read and the batch refuses it, and the tables are judged again.
        try backend.applyGuarded { () throws(BerthError) in
            let generation = try backend.generation()
            var transaction = Transaction()
            for family in made {
                guard let current = try table(family), !holdsOthers(current, in: family) else { continue }
                transaction.delete(.table(family.table))
            }
            return (generation, transaction)
        }
    }

    /// Whether `table` of `family` holds anything besides its skeleton and static rules (or
    /// those an earlier Berth made, `FirewallFamily.supersededStaticRules`): an
    /// element, a rule that is not static and not one `ignoring` accepts (the caller's
    /// own, about to go with the table), a chain or set not of the skeleton, or anything
    /// Berth could not read (a set of types it does not know): a table is deleted only when
    /// all it holds is known to be Berth's.
    func holdsOthers(_ table: Ruleset.TableContents, in family: FirewallFamily, ignoring: (Rule) -> Bool = { _ in false }) -> Bool {
        table.chains.contains { $0.rules.contains { !family.isStatic($0) && !family.isSuperseded($0) && !ignoring($0) } }
            || table.sets.contains { !$0.elements.isEmpty }
            || !table.unreadable.isEmpty
            || table.chains.contains { chain in !family.chains.contains { $0.name == chain.chain.name } }
            || table.sets.contains { set in !family.skeleton.contains { if case .set(let s) = $0 { s.name == set.set.name } else { false } } }
    }
}

extension EndpointRecord {
    /// Whether the endpoint (or a publication's view) has map elements in `family`'s table:
    /// a port on a host address of that family, forwarded to its address of that family.
    /// The one rule for which tables publishing makes and which ones check and reconcile
    /// expect, so they never disagree about a table nothing is published in.
    func hasElements(in family: IPFamily) -> Bool {
        let hasAddress = family == .ipv4 ? address != nil : ipv6Address != nil
        return hasAddress && ports.contains { $0.hostAddress.family == family }
    }
}
