import BerthCore
import BerthNamespace
import BerthNFTables

/// Installs and removes Berth's nftables objects in the host namespace.
///
/// Opened lazily: an attach without published ports never touches nftables.
final class Firewall {
    private let namespace: NetworkNamespace?
    private var backendStorage: KernelBackend?

    init(namespace: NetworkNamespace?) {
        self.namespace = namespace
    }

    var backend: KernelBackend {
        get throws(BerthError) {
            if let backendStorage { return backendStorage }
            let backend = try KernelBackend(namespace: namespace)
            backendStorage = backend
            return backend
        }
    }

    /// Makes sure Berth's table, maps, chains and static rules exist, plus the rules of
    /// `network`; adds only what is missing, in one batch.
    func installNetwork(_ network: NetworkRecord) throws(BerthError) {
        let current = try backend.list().table(FirewallLayout.table.family, FirewallLayout.table.name)
        var transaction = Transaction()
        if current == nil {
            for object in FirewallLayout.skeleton { transaction.add(object) }
            for rule in FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        }
        let tag = FirewallLayout.networkTag(network.name)
        let present = current?.chains.flatMap(\.rules).contains { $0.comment == tag } ?? false
        if !present {
            for rule in FirewallLayout.networkRules(name: network.name, subnet: network.subnet, bridge: network.bridge,
                                                    isInternal: network.isInternal) {
                transaction.add(.rule(rule))
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }

    /// Removes the rules tagged with the network's name.
    func removeNetwork(_ network: NetworkRecord) throws(BerthError) {
        guard let current = try backend.list().table(FirewallLayout.table.family, FirewallLayout.table.name) else { return }
        let tag = FirewallLayout.networkTag(network.name)
        var transaction = Transaction()
        for chain in current.chains {
            for rule in chain.rules where rule.comment == tag { transaction.delete(.rule(rule)) }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }
}

extension Firewall {
    /// Deletes rules tagged with a network the state does not know (and, once ports are
    /// published, elements of unknown endpoints); returns them in words.
    func removeLeftovers(knownNetworks: Set<String>, knownEndpoints: Set<String>) throws(BerthError) -> [String] {
        guard let current = try backend.list().table(FirewallLayout.table.family, FirewallLayout.table.name) else { return [] }
        var transaction = Transaction()
        var removed: [String] = []
        let networkPrefix = FirewallLayout.networkTag("")
        for chain in current.chains {
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
                if !knownEndpoints.contains(id) {
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
                             hint: "another endpoint holds it outside the state; run 'berth gc' to remove leftovers", cause: error)
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
