import BerthCore
import BerthNamespace

extension NetworkManager {
    /// Removes the publications whose namespace is gone (its elements and record), inside
    /// `gc`'s transaction; returns their ids.
    func collectPublications(_ tx: StateTransaction) throws(BerthError) -> [String] {
        var removed: [String] = []
        for publication in try tx.publications() where !Self.namespaceAlive(path: publication.namespacePath, identity: publication.namespaceIdentity) {
            let view = try publication.firewallView()
            try firewall.unpublish(view)
            try ConntrackCleanup.afterUnpublish(view, in: foreignHostNamespace)
            try tx.deletePublication(id: publication.id)
            removed.append(publication.id)
        }
        return removed
    }

    /// Whether `path` still names the namespace with `identity`.
    static func namespaceAlive(path: String, identity: NamespaceIdentity) -> Bool {
        (try? NetworkNamespace.open(path: path)).map { $0.identity == identity } ?? false
    }
}
