import BerthCore

extension NetworkManager {
    /// Removes the records of publications whose namespace is gone, inside `gc`'s
    /// transaction, and flushes conntrack entries of their datagram ports. Their map
    /// elements are left to `gc`'s one pass over Berth's table, as a dead endpoint's are.
    /// Returns the removed ids, the ids of those kept, and for each kept one whose
    /// namespace could not be opened (not known to be gone) why, in words.
    func collectPublications(_ tx: StateTransaction) throws(BerthError) -> (removed: [String], kept: [String], unchecked: [String]) {
        var removed: [String] = []
        var kept: [String] = []
        var unchecked: [String] = []
        for publication in try tx.publications() {
            let status = host.namespaceStatus(path: publication.namespacePath, identity: publication.namespaceIdentity)
            if case .unknown(let error) = status {
                unchecked.append("could not check namespace \(publication.namespacePath) of publication \(publication.id): \(error)")
            }
            guard status.isGone else {
                kept.append(publication.id)
                continue
            }
            try ConntrackCleanup.afterUnpublish(try publication.firewallView(), host: host)
            try tx.deletePublication(id: publication.id)
            removed.append(publication.id)
        }
        return (removed, kept, unchecked)
    }
}
