import BerthCore
import BerthNFTables

/// Installs and removes one instance's nftables objects in Berth's shared table, on any
/// backend: the kernel's, or a `FakeBackend` whose dump tests compare with goldens.
///
/// Reads only Berth's own table (`list(table:)`), and each operation reads it at most
/// once; callers that already hold a copy pass it in. Objects of other instances (other
/// state directories) are never changed: each instance's are told apart by their tags.
struct Firewall {
    let backend: any NFTablesBackend
    /// The instance whose objects this firewall adds and removes.
    let instance: StateInstance

    /// Berth's table as it is now; nil when it does not exist.
    func table() throws(BerthError) -> Ruleset.TableContents? {
        try backend.list(table: FirewallLayout.table)
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
                                           isInternal: network.isInternal)
    }

    /// Makes sure Berth's table, maps, chains and static rules exist, plus the rules of
    /// `network`; adds only what `current` (the table as last read) lacks, in one batch.
    /// A dual-stack network's IPv6 rules go into the `ip6 berth` table (`current6`, read
    /// here when not given) in the same batch.
    func installNetwork(_ network: NetworkRecord, current: Ruleset.TableContents?, current6: Ruleset.TableContents?? = nil) throws(BerthError) {
        var transaction = Transaction()
        if current == nil {
            for object in FirewallLayout.skeleton { transaction.add(object) }
            for rule in FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        }
        let presence = Presence(of: network, firewall: self, in: current)
        if !presence.hasNetworkRules {
            for rule in rules(of: network) { transaction.add(.rule(rule)) }
        }
        if network.hasIPv6 {
            let table6: Ruleset.TableContents?
            if let current6 { table6 = current6 } else { table6 = try self.table6() }
            addIPv6(of: network, to: &transaction, current6: table6)
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }

    /// Removes the rules tagged with the network's name (and this instance), from both
    /// tables of a dual-stack network.
    func removeNetwork(_ network: NetworkRecord) throws(BerthError) {
        var transaction = Transaction()
        var tables = [try table()]
        if network.hasIPv6 { tables.append(try table6()) }
        for current in tables.compactMap({ $0 }) {
            for chain in current.chains {
                for rule in chain.rules where isTagged(rule, with: network) { transaction.destroy(.rule(rule)) }
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
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
            hasNetworkRules = table?.chains.contains { $0.rules.contains { firewall.isTagged($0, with: network) } } ?? false
            if network.hasIPv6 {
                hasTable6 = table6 != nil
                hasNetworkRules6 = table6?.chains.contains { $0.rules.contains { firewall.isTagged($0, with: network) } } ?? false
            }
        }
    }

    /// Takes back what `installNetwork` added to what was there (`before`). The table goes
    /// only if it is new and holds nothing of anyone else's by now.
    func remove(_ network: NetworkRecord, addedSince before: Presence) throws(BerthError) {
        if network.hasIPv6 {
            try removeIPv6(network, addedSince: before)
        }
        if !before.hasTable {
            let current = try table()
            let others = current.map { table in
                table.chains.contains { $0.rules.contains { !FirewallLayout.isStatic($0) && !isTagged($0, with: network) } }
                    || table.sets.contains { !$0.elements.isEmpty }
            } ?? false
            if !others {
                var transaction = Transaction()
                transaction.destroy(.table(FirewallLayout.table))
                try backend.apply(transaction)
                return
            }
        }
        if !before.hasNetworkRules {
            try removeNetwork(network)
        }
    }
}

extension Firewall {
    /// Deletes this instance's rules tagged with a network the state does not know, and its
    /// elements of endpoints (and publications) not in `liveEndpoints`; returns them in
    /// words. Untagged and other instances' objects stay. A scope narrowed to one endpoint
    /// touches only its elements, and no rule.
    func removeLeftovers(knownNetworks: Set<String>, liveEndpoints: Set<String>, scope: GarbageScope = .all) throws(BerthError) -> [String] {
        guard let current = try table() else { return [] }
        var transaction = Transaction()
        var removed: [String] = []
        var forgotten = false
        for chain in current.chains where scope.coversAll {
            for rule in chain.rules {
                // Only a tag with our id: an untagged rule of a network we do not know is no
                // one's to remove.
                guard let tag = KernelNames.Tag(rule.comment), tag.kind == .network, tag.instance == instance.id else { continue }
                if !knownNetworks.contains(tag.owner) {
                    transaction.destroy(.rule(rule))
                    removed.append("rule in chain \(chain.chain.name) of network \(tag.owner)")
                    forgotten = true
                }
            }
        }
        for contents in current.sets {
            for element in contents.elements {
                guard let tag = owns(element.comment, known: { _ in true }), tag.kind == .endpoint else { continue }
                // An untagged element of a store made before instances is its own only if it
                // names a live endpoint; otherwise it may be another instance's.
                if tag.instance == nil { continue }
                if !liveEndpoints.contains(tag.owner), scope.covers(endpoint: tag.owner) {
                    transaction.destroy(.element(element, in: contents.set))
                    removed.append("element \(element.rendered) of map \(contents.set.name)")
                }
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
        // A network's IPv6 rules are installed in the same batch as its IPv4 ones, so a
        // forgotten network leaves rules here too: only then is the ip6 table read, and gc
        // on a host without leftovers still reads one table.
        if forgotten { removed += try removeIPv6Leftovers(knownNetworks: knownNetworks) }
        return removed
    }
}

extension Firewall {
    /// The map elements of an endpoint's published ports.
    func elements(of endpoint: EndpointRecord) -> [(Element, NFTSet)] {
        // An IPv6-only endpoint publishes nothing yet (the attach refuses its ports).
        guard let address = endpoint.address else { return [] }
        return endpoint.ports.map { FirewallLayout.element(for: $0, container: address, instance: instance.id) }
    }

    /// Adds the endpoint's published ports as map elements in one batch. Elements are
    /// *created*, so a key the kernel already holds is refused even if the state missed it —
    /// also a key another instance publishes.
    func publish(_ endpoint: EndpointRecord) throws(BerthError) {
        guard !endpoint.ports.isEmpty else { return }
        var transaction = Transaction()
        for (element, map) in elements(of: endpoint) {
            transaction.create(.element(element, in: map))
        }
        do {
            try backend.apply(transaction)
        } catch where error.code == .alreadyExists {
            throw BerthError(.conflict, "a published port of endpoint \(endpoint.id) is already in Berth's nftables maps: \(error.message)",
                             hint: "another endpoint holds it outside the state (a leftover, or another state directory's): remove leftovers with garbage collection, or choose another host port",
                             object: .endpoint(endpoint.id), operation: .publish, parameter: "ports", remedy: .collectGarbage, cause: error)
        }
    }

    /// Removes the endpoint's map elements; elements already gone are fine.
    func unpublish(_ endpoint: EndpointRecord) throws(BerthError) {
        guard !endpoint.ports.isEmpty else { return }
        var transaction = Transaction()
        for (element, map) in elements(of: endpoint) {
            transaction.destroy(.element(element, in: map))
        }
        do {
            try backend.apply(transaction)
        } catch where error.code == .notFound {
            // Berth's table itself is gone (an `nft flush ruleset`): nothing to remove.
        }
    }
}
