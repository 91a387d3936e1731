import BerthCore

extension NetworkManager {
    /// Removes the records of publications whose namespace is gone, inside `gc`'s
    /// transaction, and flushes conntrack entries of their datagram ports. Their map
    /// elements are left to `gc`'s one pass over Berth's table, as a dead endpoint's are.
    /// Returns the removed ids, the ids of those kept, each kept one whose namespace could
    /// not be opened (not known to be gone) with why, and for each whose removal failed
    /// (kept, in a savepoint of its own rolled back) why.
    func collectPublications(_ tx: StateTransaction) throws(BerthError)
        -> (removed: [String], kept: [String], unchecked: [UncheckedNamespace], failed: [GCFailure]) {
        var removed: [String] = []
        var kept: [String] = []
        var unchecked: [UncheckedNamespace] = []
        var failed: [GCFailure] = []
        for publication in try tx.publications() {
            let status = host.namespaceStatus(path: publication.namespacePath, identity: publication.namespaceIdentity)
            if case .unknown(let error) = status {
                unchecked.append(UncheckedNamespace(owner: .publication, id: publication.id, path: publication.namespacePath, error: error))
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
                failed.append(GCFailure(owner: .publication, id: publication.id, error: error))
                kept.append(publication.id)
                continue
            }
            removed.append(publication.id)
        }
        return (removed, kept, unchecked, failed)
    }
}
