import BerthCore
import BerthNFTables

/// Installs and removes one instance's nftables objects in Berth's shared table, on any
/// backend: the kernel's, or a `FakeBackend` whose dump tests compare with goldens.
///
/// Reads only Berth's own tables (`list(table:)`: `ip berth`, and `ip6 berth` where a
/// dual-stack network, an IPv6 publication or a full `gc` calls for it), each at most once
/// per operation (but for a network install or publish that upgrades an earlier Berth's
/// table, which reads it again after the generation); callers that already hold a copy
/// pass it in. Objects of other instances (other
/// state directories) are never changed: each instance's are told apart by their tags.
struct Firewall {
    let backend: any NFTablesBackend
    /// The instance whose objects this firewall adds and removes.
    let instance: StateInstance

    /// Berth's table as it is now; nil when it does not exist.
    func table() throws(BerthError) -> Ruleset.TableContents? {
        try table(.ipv4)
    }

    /// Berth's table of `family` as it is now; nil when it does not exist.
    func table(_ family: FirewallFamily) throws(BerthError) -> Ruleset.TableContents? {
        try backend.list(table: family.table)
    }

    /// Whether a rule's or element's comment makes it this instance's. An object tagged
    /// without an instance id is ours only in a store made before instances, and only when
    /// it names something we know (`known`).
    func owns(_ comment: String?, known: (KernelNames.Tag) -> Bool) -> KernelNames.Tag? {
        guard let tag = KernelNames.Tag(comment), tag.belongs(to: instance) else { return nil }
        if tag.instance == nil, !known(tag) { return nil }
        return tag
    }

    /// The rules of `network` as this instance tags them; none for an IPv6-only network
    /// (its rules are all in the `ip6 berth` table).
    func rules(of network: NetworkRecord) -> [Rule] {
        guard let subnet = network.subnet else { return [] }
        return FirewallLayout.networkRules(name: network.name, instance: instance.id, subnet: subnet, bridge: network.bridge,
                                           isInternal: network.isInternal, bridgeAdopted: network.bridgeAdopted)
    }

    /// Makes sure Berth's table, maps, chains and static rules exist, plus the rules of
    /// `network`; adds only what `current` (the table as last read) lacks, in one batch.
    /// A dual-stack network's IPv6 rules go into the `ip6 berth` table (`current6`, read
    /// here when not given) in the same batch.
    ///
    /// A table it makes is created (NLM_F_EXCL), not added: when another process made it
    /// since it was read, the batch is refused whole, and the tables are read again and the
    /// batch planned anew, so no static rule is appended twice. Returns what was in
    /// place as the batch that applied found it, for `remove(_:addedSince:)`.
    ///
    /// A table an earlier Berth made lacks the `publication_hairpin` set and its static rule
    /// (`addHairpin`): the same batch adds them, as a publish does, so a network created or
    /// made again on an upgraded host leaves its table as this Berth makes one. That batch
    /// is planned from tables read after the generation it is guarded by (the tables passed
    /// in are read again): two processes upgrading at once never append the rule twice.
    ///
    /// Planned anew up to `installAttempts` times in all, as `unpublish` is: a busy host
    /// (other processes committing batches all the while) may change the ruleset between
    /// several reads in a row. After the last, a `.conflict` that says so.
    @discardableResult
    func installNetwork(_ network: NetworkRecord, current: Ruleset.TableContents?, current6: Ruleset.TableContents?? = nil) throws(BerthError) -> Presence {
        var current = current
        var table6: Ruleset.TableContents? = nil
        if network.hasIPv6 {
            if let current6 { table6 = current6 } else { table6 = try self.table6() }
        }
        // The generation the tables were read at, when they were read here after it.
        var generation: UInt32?
        func readAgain() throws(BerthError) {
            generation = try backend.generation()
            current = try table()
            if network.hasIPv6 { table6 = try self.table6() }
        }
        if lacksHairpin(current, of: .ipv4) || (network.hasIPv6 && lacksHairpin(table6, of: .ipv6)) { try readAgain() }
        for attempt in 1...Self.installAttempts {
            let last = attempt == Self.installAttempts
            try refuseForeign(current, of: .ipv4)
            if network.hasIPv6 { try refuseForeign(table6, of: .ipv6) }
            var transaction = Transaction()
            var upgraded = add(network, in: .ipv4, to: &transaction, current: current)
            if network.hasIPv6, add(network, in: .ipv6, to: &transaction, current: table6) { upgraded = true }
            let presence = Presence(of: network, firewall: self, in: current, table6: table6)
            do {
                if !transaction.isEmpty { try backend.apply(transaction, generation: upgraded ? generation : nil) }
                return presence
            } catch where error.code == .alreadyExists && (current == nil || (network.hasIPv6 && table6 == nil)) {
                // Another process made a table meanwhile: plan against what it made.
                if last { throw changedMeanwhile(network, cause: error) }
                try readAgain()
            } catch where error.code == .conflict && upgraded && generation != nil {
                // Another process committed since the tables were read (maybe the same
                // upgrade): planned anew against what it left.
                if last { throw changedMeanwhile(network, cause: error) }
                try readAgain()
            }
        }
        throw BerthError(.internalError, "network \(network.name)'s install ended without an outcome")
    }

    /// How many times `installNetwork` plans its batch at most (`unpublish`'s bound).
    static let installAttempts = 5

    /// The error of an install whose every plan another process's batch overtook.
    private func changedMeanwhile(_ network: NetworkRecord, cause: BerthError) -> BerthError {
        BerthError(.conflict, "Berth's nftables tables changed \(Self.installAttempts) times while network \(network.name)'s rules were being installed",
                   hint: "other processes are changing the nftables ruleset all the while; try again once they are done", object: .network(network.name),
                   cause: cause)
    }

    /// Refuses a table whose chains or maps are not as Berth makes them
    /// (`FirewallFamily.mismatches(in:)`): a network's rules would be added to another
    /// program's table, or run through chains that are not hooked as Berth's are.
    private func refuseForeign(_ table: Ruleset.TableContents?, of family: FirewallFamily) throws(BerthError) {
        guard let table else { return }
        let mismatches = family.mismatches(in: table)
        guard !mismatches.isEmpty else { return }
        throw BerthError(.conflict, "\(family.tableDescription) is not Berth's layout: " + mismatches.joined(separator: "; "),
                         hint: "another program made a table of that name, or its chains or maps were changed: Berth never changes them; "
                             + "move what the table holds elsewhere and delete it, then reconcile every state directory that uses it")
    }

    /// Adds to `transaction` what `current` (the table of `family` as read) lacks of its
    /// skeleton and static rules and of the network's rules there: the whole skeleton for a
    /// table that does not exist, the hairpin set and rule for one an earlier Berth made.
    /// Returns whether it upgraded an existing table (a batch to guard by the generation).
    private func add(_ network: NetworkRecord, in family: FirewallFamily, to transaction: inout Transaction, current: Ruleset.TableContents?) -> Bool {
        var upgraded = false
        if let current {
            upgraded = addHairpin(of: family, to: &transaction, current: current)
        } else {
            addSkeleton(of: family, to: &transaction)
        }
        if !hasRules(of: network, in: current) {
            for rule in rules(of: network, in: family) { transaction.add(.rule(rule)) }
        }
        return upgraded
    }

    /// Whether `table` exists and lacks the hairpin set or its static rule (an earlier
    /// Berth's table).
    private func lacksHairpin(_ table: Ruleset.TableContents?, of family: FirewallFamily) -> Bool {
        guard let table else { return false }
        var scratch = Transaction()
        return addHairpin(of: family, to: &scratch, current: table)
    }

    /// Adds `family`'s table, maps, chains and static rules to `transaction`, the table with
    /// `create`: a batch that finds it made by another process meanwhile is refused whole
    /// (EEXIST) instead of appending the static rules a second time.
    func addSkeleton(of family: FirewallFamily, to transaction: inout Transaction) {
        for object in family.skeleton {
            if case .table = object { transaction.create(object) } else { transaction.add(object) }
        }
        for rule in family.staticRules { transaction.add(.rule(rule)) }
    }

    /// Whether `table` holds a rule of `network` (tagged by this instance).
    func hasRules(of network: NetworkRecord, in table: Ruleset.TableContents?) -> Bool {
        table?.chains.contains { $0.rules.contains { isTagged($0, with: network) } } ?? false
    }

    /// Removes the rules tagged with the network's name (and this instance), from both
    /// tables of a dual-stack network.
    ///
    /// Guarded by the generation read before the tables: the rules go by the handles read,
    /// and a table deleted and made again meanwhile numbers its rules from 1 again, so a
    /// handle read here could name another's rule by the time the batch came.
    func removeNetwork(_ network: NetworkRecord) throws(BerthError) {
        try backend.applyGuarded { () throws(BerthError) in
            let generation = try backend.generation()
            var transaction = Transaction()
            var tables = [try table()]
            if network.hasIPv6 { tables.append(try table6()) }
            for current in tables.compactMap({ $0 }) {
                for chain in current.chains {
                    for rule in chain.rules where isTagged(rule, with: network) { transaction.delete(.rule(rule)) }
                }
            }
            return (generation, transaction)
        }
    }

    func isTagged(_ rule: Rule, with network: NetworkRecord) -> Bool {
        guard let tag = owns(rule.comment, known: { $0.owner == network.name }) else { return false }
        return tag.kind == .network && tag.owner == network.name
    }

    /// What of Berth's nftables a network found in place before its kernel objects were
    /// made, so a failure takes back exactly what was added: the whole table if it is new,
    /// else the network's rules if they are new, else nothing (they belong to the network).
    struct Presence {
        var hasTable: Bool
        var hasNetworkRules: Bool
        /// The same of the `ip6 berth` table (true when the network has no IPv6: nothing to add).
        var hasTable6 = true
        var hasNetworkRules6 = true

        init(of network: NetworkRecord, firewall: Firewall, in table: Ruleset.TableContents?, table6: Ruleset.TableContents? = nil) {
            hasTable = table != nil
            hasNetworkRules = firewall.hasRules(of: network, in: table)
            if network.hasIPv6 {
                hasTable6 = table6 != nil
                hasNetworkRules6 = firewall.hasRules(of: network, in: table6)
            }
        }
    }

    /// Takes back what `installNetwork` added to what was there (`before`), in each table.
    func remove(_ network: NetworkRecord, addedSince before: Presence) throws(BerthError) {
        if network.hasIPv6 {
            try remove(network, from: .ipv6, hadTable: before.hasTable6, hadRules: before.hasNetworkRules6)
        }
        try remove(network, from: .ipv4, hadTable: before.hasTable, hadRules: before.hasNetworkRules)
    }

    /// The table goes only if it is new and holds nothing of anyone else's by now; else the
    /// network's rules go if they are new.
    /// Read and batch are guarded by the generation: another instance's rule or element
    /// added between them refuses the batch, and the table is read and judged again.
    private func remove(_ network: NetworkRecord, from family: FirewallFamily, hadTable: Bool, hadRules: Bool) throws(BerthError) {
        try backend.applyGuarded(reading: { () throws(BerthError) in try table(family) }) { (current) throws(BerthError) in
            var transaction = Transaction()
            guard let current else { return transaction }
            if !hadTable, !holdsOthers(current, in: family, ignoring: { isTagged($0, with: network) }) {
                transaction.delete(.table(family.table))
                return transaction
            }
            guard !hadRules else { return transaction }
            for chain in current.chains {
                for rule in chain.rules where isTagged(rule, with: network) { transaction.delete(.rule(rule)) }
            }
            return transaction
        }
    }
}
