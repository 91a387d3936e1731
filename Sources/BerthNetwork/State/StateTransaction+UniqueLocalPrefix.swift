public import BerthCore

extension StateTransaction {
    /// The host's RFC 4193 unique local prefix, out of which networks made without an IPv6
    /// subnet get theirs. Drawn at random once, when the store's schema gained IPv6, and
    /// kept: a network made again under its name gets its /64 again, and two hosts' prefixes
    /// (almost surely) differ.
    public func uniqueLocalPrefix() throws(BerthError) -> UniqueLocalPrefix {
        let globalID = try db().queryFirst("SELECT global_id FROM ipv6_prefix WHERE singleton = 1") { row in row.int64(0) }
        guard let globalID, let id = UInt64(exactly: globalID), let prefix = UniqueLocalPrefix(globalID: id) else {
            throw BerthError(.state, "state database \(database.path) has no readable IPv6 unique local prefix",
                             hint: "the state database was changed outside Berth; restore it or start a new state directory",
                             object: .state(database.path))
        }
        return prefix
    }

    /// Replaces the unique local prefix (tests that compare exact addresses need a fixed one).
    package func setUniqueLocalPrefix(_ prefix: UniqueLocalPrefix) throws(BerthError) {
        try db().execute("UPDATE ipv6_prefix SET global_id = ? WHERE singleton = 1", [.int(prefix.globalID)])
    }
}
