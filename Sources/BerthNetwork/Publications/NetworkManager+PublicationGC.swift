import BerthCore

extension NetworkManager {
    /// Removes the records of publications whose namespace is gone, inside `gc`'s
    /// transaction, and flushes conntrack entries of their datagram ports. Their map
    /// elements are left to `gc`'s one pass over Berth's table, as a dead endpoint's are.
    /// Returns the removed ids, the ids of those kept, for each kept one whose namespace
    /// could not be opened (not known to be gone) why, in words, and for each whose removal
    /// failed (kept, in a savepoint of its own rolled back) why, in words.
    func collectPublications(_ tx: StateTransaction) throws(BerthError) -> (removed: [String], kept: [String], unchecked: [String], failed: [String]) {
        var removed: [String] = []
        var kept: [String] = []
        var unchecked: [String] = []
        var failed: [String] = []
        for publication in try tx.publications() {
            let status = host.namespaceStatus(path: publication.namespacePath, identity: publication.namespaceIdentity)
            if case .unknown(let error) = status {
                unchecked.append("could not check namespace \(publication.namespacePath) of publication \(publication.id): \(error)")
            }
            guard status.isGone else {
                kept.append(publication.id)
                continue
            }
            do throws(BerthError) {
                try tx.savepoint { () throws(BerthError) in
                    try ConntrackCleanup.afterUnpublish(try publication.firewallView(), host: host)
                    try tx.deletePublication(id: publication.id)
                }
            } catch {
                failed.append("publication \(publication.id): \(error)")
                kept.append(publication.id)
                continue
            }
            removed.append(publication.id)
        }
        return (removed, kept, unchecked, failed)
    }
}
