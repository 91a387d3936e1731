import BerthCore
import BerthNFTables

/// Installs and removes Berth's nftables objects, on any backend: the kernel's, or a
/// `FakeBackend` whose dump tests compare with goldens.
///
/// Reads only Berth's own table (`list(table:)`), and each operation reads it at most
/// once; callers that already hold a copy pass it in.
struct Firewall {
    let backend: any NFTablesBackend

    /// Berth's table as it is now; nil when it does not exist.
    func table() throws(BerthError) -> Ruleset.TableContents? {
        try backend.list(table: FirewallLayout.table)
    }

    /// Makes sure Berth's table, maps, chains and static rules exist, plus the rules of
    /// `network`; adds only what `current` (the table as last read) lacks, in one batch.
    func installNetwork(_ network: NetworkRecord, current: Ruleset.TableContents?) throws(BerthError) {
        var transaction = Transaction()
        if current == nil {
            for object in FirewallLayout.skeleton { transaction.add(object) }
            for rule in FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        }
        if !Presence(of: network, in: current).hasNetworkRules {
            for rule in FirewallLayout.networkRules(name: network.name, subnet: network.subnet, bridge: network.bridge,
                                                    isInternal: network.isInternal) {
                transaction.add(.rule(rule))
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }

    /// Removes the rules tagged with the network's name.
    func removeNetwork(_ network: NetworkRecord) throws(BerthError) {
        guard let current = try table() else { return }
        let tag = FirewallLayout.networkTag(network.name)
        var transaction = Transaction()
        for chain in current.chains {
            for rule in chain.rules where rule.comment == tag { transaction.delete(.rule(rule)) }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }

    /// What of Berth's nftables a network found in place before its kernel objects were
    /// made, so a failure takes back exactly what was added: the whole table if it is new,
    /// else the network's rules if they are new, else nothing (they belong to the network).
    struct Presence {
        var hasTable: Bool
        var hasNetworkRules: Bool

        init(of network: NetworkRecord, in table: Ruleset.TableContents?) {
            let tag = FirewallLayout.networkTag(network.name)
            hasTable = table != nil
            hasNetworkRules = table?.chains.contains { $0.rules.contains { $0.comment == tag } } ?? false
        }
    }

    /// Takes back what `installNetwork` added to what was there (`before`).
    func remove(_ network: NetworkRecord, addedSince before: Presence) throws(BerthError) {
        if !before.hasTable {
            var transaction = Transaction()
            transaction.delete(.table(FirewallLayout.table))
            try backend.apply(transaction)
        } else if !before.hasNetworkRules {
            try removeNetwork(network)
        }
    }
}

extension Firewall {
    /// Deletes rules tagged with a network the state does not know, and elements of unknown
    /// endpoints; returns them in words. A scope narrowed to one endpoint touches only its
    /// elements, and no rule.
    func removeLeftovers(knownNetworks: Set<String>, knownEndpoints: Set<String>, scope: GarbageScope = .all) throws(BerthError) -> [String] {
        guard let current = try table() else { return [] }
        var transaction = Transaction()
        var removed: [String] = []
        let networkPrefix = FirewallLayout.networkTag("")
        for chain in current.chains where scope.coversAll {
            for rule in chain.rules {
                guard let comment = rule.comment, comment.hasPrefix(networkPrefix) else { continue }
                let name = String(comment.dropFirst(networkPrefix.count))
                if !knownNetworks.contains(name) {
                    transaction.delete(.rule(rule))
                    removed.append("rule in chain \(chain.chain.name) of network \(name)")
                }
            }
        }
        let endpointPrefix = FirewallLayout.endpointTag("")
        for contents in current.sets {
            for element in contents.elements {
                guard let comment = element.comment, comment.hasPrefix(endpointPrefix) else { continue }
                let id = String(comment.dropFirst(endpointPrefix.count))
                if !knownEndpoints.contains(id), scope.covers(endpoint: id) {
                    transaction.destroy(.element(element, in: contents.set))
                    removed.append("element \(element.rendered) of map \(contents.set.name)")
                }
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
        return removed
    }
}

extension Firewall {
    /// Adds the endpoint's published ports as map elements in one batch. Elements are
    /// *created*, so a key the kernel already holds is refused even if the state missed it.
    func publish(_ endpoint: EndpointRecord) throws(BerthError) {
        guard !endpoint.ports.isEmpty else { return }
        var transaction = Transaction()
        for mapping in endpoint.ports {
            let (element, map) = FirewallLayout.element(for: mapping, container: endpoint.address)
            transaction.create(.element(element, in: map))
        }
        do {
            try backend.apply(transaction)
        } catch where error.code == .alreadyExists {
            throw BerthError(.conflict, "a published port of endpoint \(endpoint.id) is already in Berth's nftables maps: \(error.message)",
                             hint: "another endpoint holds it outside the state: remove leftovers with garbage collection",
                             object: .endpoint(endpoint.id), operation: .publish, parameter: "ports", remedy: .collectGarbage, cause: error)
        }
    }

    /// Removes the endpoint's map elements; elements already gone are fine.
    func unpublish(_ endpoint: EndpointRecord) throws(BerthError) {
        guard !endpoint.ports.isEmpty else { return }
        var transaction = Transaction()
        for mapping in endpoint.ports {
            let (element, map) = FirewallLayout.element(for: mapping, container: endpoint.address)
            transaction.destroy(.element(element, in: map))
        }
        do {
            try backend.apply(transaction)
        } catch where error.code == .notFound {
            // Berth's table itself is gone (an `nft flush ruleset`): nothing to remove.
        }
    }
}
