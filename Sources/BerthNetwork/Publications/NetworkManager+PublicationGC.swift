import BerthCore

extension NetworkManager {
    /// Removes the records of publications whose namespace is gone, inside `gc`'s
    /// transaction, and flushes conntrack entries of their datagram ports. Their map
    /// elements are left to `gc`'s one pass over Berth's table, as a dead endpoint's are.
    /// Returns the removed ids and the ids of those kept.
    func collectPublications(_ tx: StateTransaction) throws(BerthError) -> (removed: [String], kept: [String]) {
        var removed: [String] = []
        var kept: [String] = []
        for publication in try tx.publications() {
            guard !host.isAlive(path: publication.namespacePath, identity: publication.namespaceIdentity) else {
                kept.append(publication.id)
                continue
            }
            try ConntrackCleanup.afterUnpublish(try publication.firewallView(), host: host)
            try tx.deletePublication(id: publication.id)
            removed.append(publication.id)
        }
        return (removed, kept)
    }
}
