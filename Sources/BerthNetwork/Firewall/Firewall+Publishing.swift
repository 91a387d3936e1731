import BerthCore
import BerthNFTables

extension Firewall {
    /// The map elements of an endpoint's published ports, in both tables: a mapping on an
    /// IPv4 host address (`0.0.0.0` for every one) in `ip berth` to the endpoint's IPv4
    /// address, one on an IPv6 host address (`::` for every one) in `ip6 berth` to its IPv6
    /// address. (An endpoint without an IPv6 address has no IPv6 mappings, nor one without
    /// an IPv4 address IPv4 ones: the allocator gives each family's only on a network that
    /// has it.)
    ///
    /// The elements of each map come together, the maps in the order their first element
    /// has in `endpoint.ports`: the allocator lists a dual-stack port's two mappings side by
    /// side, and a batch puts only consecutive elements of one map in a message, so a
    /// dual-stack range in mapping order was a message (and an acknowledgement) per element.
    func elements(of endpoint: EndpointRecord) -> [(Element, NFTSet)] {
        // The tag is made once per endpoint, not once per port: the elements share its storage.
        var owner: String?
        var tag = ""
        var elements: [(Element, NFTSet)] = []
        elements.reserveCapacity(endpoint.ports.count)
        // The map of each element as a number (0–3: each family's any-address and by-address
        // map), the maps in order of appearance, and whether a map came back after another.
        var maps: [UInt8] = []
        maps.reserveCapacity(endpoint.ports.count)
        var order: [UInt8] = []
        var interleaved = false
        for mapping in endpoint.ports {
            if mapping.endpointID != owner {
                owner = mapping.endpointID
                tag = FirewallLayout.endpointTag(mapping.endpointID, instance: instance.id)
            }
            let map: UInt8
            switch mapping.key.hostAddress {
            case .v4(let host):
                guard let address = endpoint.address else { continue }
                elements.append(FirewallLayout.element(for: mapping, container: address, comment: tag))
                map = host.isUnspecified ? 0 : 1
            case .v6(let host):
                guard let ipv6 = endpoint.ipv6Address, let element = IPv6FirewallLayout.element(for: mapping, container: ipv6, comment: tag) else { continue }
                elements.append(element)
                map = host.isUnspecified ? 2 : 3
            }
            if order.isEmpty || order[order.count - 1] != map {
                if order.contains(map) { interleaved = true } else { order.append(map) }
            }
            maps.append(map)
        }
        if interleaved {
            var grouped: [(Element, NFTSet)] = []
            grouped.reserveCapacity(elements.count)
            for map in order {
                for index in elements.indices where maps[index] == map { grouped.append(elements[index]) }
            }
            elements = grouped
        }
        if endpoint.isPublicationView { elements += hairpinElements(of: endpoint, comment: tag) }
        return elements
    }

    /// A publication's `publication_hairpin` elements (`ADDR . ADDR`, tagged as its ports'):
    /// one per family it has ports in, after them. A Berth network's endpoint has none: its
    /// network's rule masquerades its subnet's hairpin.
    private func hairpinElements(of publication: EndpointRecord, comment: String) -> [(Element, NFTSet)] {
        var elements: [(Element, NFTSet)] = []
        if let address = publication.address, publication.hasElements(in: .ipv4) {
            elements.append(FirewallLayout.hairpinElement(address, comment: comment))
        }
        if let address = publication.ipv6Address, publication.hasElements(in: .ipv6) {
            elements.append(IPv6FirewallLayout.hairpinElement(address, comment: comment))
        }
        return elements
    }

    /// The endpoint's elements in the table of `family`.
    func elements(of endpoint: EndpointRecord, in family: FirewallFamily) -> [(Element, NFTSet)] {
        elements(of: endpoint).filter { $0.1.family == family.table.family }
    }

    /// Adds the endpoint's published ports as map elements of both tables in one batch:
    /// all of them or none. Elements are *created*, so a key the kernel already holds is
    /// refused even if the state missed it — also a key another instance publishes.
    /// `prefix` goes first in the same batch (the tables a publication makes for them, or
    /// what of the layout an earlier Berth's table lacks), guarded by `generation` when given.
    ///
    /// A publication's hairpin elements are *added*: their key is an address, not a port,
    /// and two publications to one address (a leftover of a killed ADD beside its retry)
    /// masquerade the same connections; the first one's element serves both, and only its
    /// owner deletes it, handing it to the other in the same batch (`unpublish`).
    func publish(_ endpoint: EndpointRecord, after prefix: Transaction = Transaction(), generation: UInt32? = nil) throws(BerthError) {
        let elements = elements(of: endpoint)
        guard !elements.isEmpty else { return }
        var transaction = prefix
        transaction.reserveCapacity(prefix.operations.count + elements.count)
        for (element, map) in elements {
            if map.isMap { transaction.create(.element(element, in: map)) } else { transaction.add(.element(element, in: map)) }
        }
        do {
            try backend.apply(transaction, generation: generation)
        } catch where error.code == .alreadyExists {
            throw BerthError(.conflict, "a published port of endpoint \(endpoint.id) is already in Berth's nftables maps: \(heldKeys(of: elements) ?? error.message)",
                             hint: "another endpoint holds it outside the state (a leftover, or another state directory's): remove leftovers with garbage collection, or choose another host port",
                             object: .endpoint(endpoint.id), operation: .publish, parameter: "ports", remedy: .collectGarbage, cause: error)
        }
    }

    /// The keys of `elements` the maps hold now, with their owners' tags, in words; nil if
    /// none can be read. The refused batch made none of them, so each is another's. Read
    /// because the kernel refuses a message of many elements (a range) as a whole, so its
    /// error names the message's first element, not the one it found held.
    private func heldKeys(of elements: [(Element, NFTSet)]) -> String? {
        // Ports only: a hairpin element is added, never refused.
        guard let (_, found) = try? backend.elements(withKeysOf: elements.filter { $0.1.isMap }), !found.isEmpty else { return nil }
        let shown = found.prefix(3).map { held, map in
            "\(Element(held.key).rendered) in \(map.family == .ip6 ? "ip6 " : "")\(map.isMap ? "map" : "set") \(map.name), held by \(held.comment.map { "\"\($0)\"" } ?? "an untagged element")"
        }
        return shown.joined(separator: "; ") + (found.count > 3 ? "; and \(found.count - 3) more" : "")
    }

    /// Removes the endpoint's map elements, of both tables in one batch: only those that
    /// are still its own. The kernel deletes an element by its key, whatever its data and
    /// comment, and the key may be another instance's by now (this endpoint's element was
    /// deleted by hand or flushed, then the other instance published the same port): so the
    /// endpoint's keys are read first (those keys alone, not the maps:
    /// `NFTablesBackend.elements(withKeysOf:)`), only elements tagged with this endpoint
    /// and instance are deleted, and the batch is guarded by the generation read with them,
    /// planned again if another process committed in between. Elements already gone, and a
    /// table that is gone (an `nft flush ruleset`), are fine: nothing of them is deleted.
    ///
    /// A publication's hairpin element serves every publication to its address (`publish`):
    /// when one it deletes has the key of a hairpin element of one of `survivors` (this
    /// instance's other publications, as firewall views), the same batch adds that one's
    /// in its place, so the survivor's hairpin goes on working.
    func unpublish(_ endpoint: EndpointRecord, survivors: [EndpointRecord] = []) throws(BerthError) {
        let elements = elements(of: endpoint)
        guard !elements.isEmpty else { return }
        // The endpoint ids the elements are tagged with (a publication's view: its own).
        var owners: [String] = []
        for mapping in endpoint.ports where !owners.contains(mapping.endpointID) { owners.append(mapping.endpointID) }
        let tags = owners.map { FirewallLayout.endpointTag($0, instance: instance.id) }
        let heirs = endpoint.isPublicationView ? survivors.flatMap { self.elements(of: $0).filter { !$0.1.isMap } } : []
        try backend.applyGuarded(attempts: 5) { () throws(BerthError) in
            let (generation, found) = try backend.elements(withKeysOf: elements)
            var transaction = Transaction()
            transaction.reserveCapacity(found.count)
            for (held, map) in found where isOwn(held, tags: tags, owners: owners) {
                transaction.delete(.element(held, in: map))
                if !map.isMap, let heir = heirs.first(where: { $0.1.family == map.family && $0.1.name == map.name && $0.0.key == held.key }) {
                    transaction.add(.element(heir.0, in: map))
                }
            }
            return (generation, transaction)
        }
    }

    /// Whether `element` (as read) carries one of `tags`, or, in a store made before
    /// instances, the untagged tag of one of `owners`.
    private func isOwn(_ element: Element, tags: [String], owners: [String]) -> Bool {
        if let comment = element.comment, tags.contains(comment) { return true }
        guard instance.legacy, let tag = owns(element.comment, known: { _ in true }) else { return false }
        return tag.kind == .endpoint && owners.contains(tag.owner)
    }
}

extension Firewall {
    /// Deletes this instance's rules tagged with a network the state does not know, and its
    /// elements of endpoints (and publications) not in `liveEndpoints`, in both tables and
    /// one batch; returns them in words. Untagged and other instances' objects stay — but in
    /// a store made before instances, an untagged element of an endpoint in `forgotten` (one
    /// the caller has just forgotten without unpublishing it) is this store's, and goes. A
    /// scope narrowed to one endpoint touches only its elements, and no rule.
    ///
    /// The `ip6 berth` table is read only when it can hold leftovers: `dualStack` (some
    /// network of the state has IPv6, so its endpoints have IPv6 elements — or the caller
    /// found a forgotten network's bridge, whose network may have been IPv6-only and so
    /// without rules in `ip berth`), or a forgotten network's rules were found in `ip berth`
    /// (its IPv6 rules were installed in the same batch), or the caller asks for it (a full
    /// gc, which may find a crashed publication's IPv6 elements). A prune, or a gc narrowed
    /// to one endpoint, on a host without either reads one table.
    ///
    /// `unusedTables`: the families whose table the state no longer needs (no network and
    /// no publication puts anything there). With a full scope, such a table is deleted
    /// whole, in the same batch, when all it holds besides its skeleton and static rules is
    /// leftovers removed here (`holdsOthers`, `FirewallFamily.mismatches`): the table a
    /// publish killed before its commit made, or one the last network or publication left.
    /// Another instance's rule or element keeps it, and the generation guard keeps one that
    /// another process starts using meanwhile.
    func removeLeftovers(knownNetworks: Set<String>, liveEndpoints: Set<String>, forgotten: Set<String> = [], scope: GarbageScope = .all,
                         dualStack: Bool = false, unusedTables: Set<IPFamily> = []) throws(BerthError) -> [String] {
        var removed: [String] = []
        // Guarded by the generation read before the tables: a rule or element another
        // process adds meanwhile (a rule reusing a handle read here, in a table made
        // again) is never deleted by a plan that did not see it.
        try backend.applyGuarded { () throws(BerthError) in
            let generation = try backend.generation()
            var transaction = Transaction()
            removed = []
            let forgottenNetwork = try collectLeftovers(in: .ipv4, knownNetworks: knownNetworks, liveEndpoints: liveEndpoints, forgotten: forgotten,
                                                        scope: scope, deletingUnused: unusedTables.contains(.ipv4), into: &transaction, removed: &removed)
            if forgottenNetwork || dualStack {
                _ = try collectLeftovers(in: .ipv6, knownNetworks: knownNetworks, liveEndpoints: liveEndpoints, forgotten: forgotten, scope: scope,
                                         deletingUnused: unusedTables.contains(.ipv6), into: &transaction, removed: &removed)
            }
            return (generation, transaction)
        }
        return removed
    }

    /// Queues the leftovers of one table — or, with `deletingUnused` and a full scope, the
    /// table itself when nothing else is left in it; returns whether a forgotten network's
    /// rule was among them.
    private func collectLeftovers(in family: FirewallFamily, knownNetworks: Set<String>, liveEndpoints: Set<String>, forgotten: Set<String>,
                                  scope: GarbageScope,
                                  deletingUnused: Bool = false, into transaction: inout Transaction, removed: inout [String]) throws(BerthError) -> Bool {
        guard let current = try table(family) else { return false }
        var forgottenNetwork = false
        var doomed: [Transaction.Object] = []
        // What the table holds once the leftovers are gone.
        var remaining = current
        for (index, chain) in current.chains.enumerated() where scope.coversAll {
            for rule in chain.rules {
                // Only a tag with our id: an untagged rule of a network we do not know is no
                // one's to remove.
                guard let tag = KernelNames.Tag(rule.comment), tag.kind == .network, tag.instance == instance.id else { continue }
                if !knownNetworks.contains(tag.owner) {
                    doomed.append(.rule(rule))
                    removed.append("\(family.label)rule in chain \(chain.chain.name) of network \(tag.owner)")
                    remaining.chains[index].rules.removeAll { $0 == rule }
                    forgottenNetwork = true
                }
            }
        }
        for (index, contents) in current.sets.enumerated() {
            var gone: Set<Element> = []
            for element in contents.elements {
                guard let tag = owns(element.comment, known: { _ in true }), tag.kind == .endpoint else { continue }
                // An untagged element of a store made before instances is its own only if it
                // names a live endpoint, or one this store has just forgotten (`forgotten`:
                // gc dropped its record, its namespace gone, without unpublishing it);
                // otherwise it may be another instance's.
                if tag.instance == nil, !forgotten.contains(tag.owner) { continue }
                if !liveEndpoints.contains(tag.owner), scope.covers(endpoint: tag.owner) {
                    doomed.append(.element(element, in: contents.set))
                    removed.append("element \(element.rendered) of \(family.label)\(contents.set.isMap ? "map" : "set") \(contents.set.name)")
                    gone.insert(element)
                }
            }
            if !gone.isEmpty { remaining.sets[index].elements.removeAll { gone.contains($0) } }
        }
        if deletingUnused, scope.coversAll, !holdsOthers(remaining, in: family), family.mismatches(in: remaining).isEmpty {
            transaction.delete(.table(family.table))
            removed.append("table \(family.table.family) \(family.table.name)")
        } else {
            for object in doomed { transaction.destroy(object) }
        }
        return forgottenNetwork
    }
}
