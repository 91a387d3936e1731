import BerthCore

/// A reboot destroys every kernel object Berth made — namespaces, veth pairs, nftables
/// elements, the resolver process — while the state survives it. The instance row records
/// which boot the state's kernel objects belong to (`KernelAccess.bootID`), and the first
/// write transaction of a process compares it with the boot it runs in (`StateStore`,
/// once per process): after a reboot it forgets every endpoint (its lease, port mappings,
/// name) and publication (its ports), and the resolver record, before anything reads
/// them. Networks stay recorded: an attach or `reconcile` makes their bridges and rules
/// again. Nothing in the kernel is touched: what those records named is gone.
extension StateTransaction {
    /// Brings the state to the boot `current`: records it, first forgetting the records of
    /// an earlier boot when another one is recorded; none (NULL: a store upgraded on a
    /// running system, whose objects are this boot's) is only replaced. Returns whether it
    /// changed anything. Keeps the instance row for `instance()` in this transaction.
    func settleBoot(_ current: String) throws(BerthError) -> Bool {
        let db = try db()
        let row = try instanceRow()
        db.instanceRead = StateInstance(id: row.id, legacy: row.legacy)
        db.instanceGeneration = generation
        guard row.boot != current else { return false }
        if !row.boot.isEmpty { try forgetEarlierBoot() }
        try db.execute("UPDATE instance SET boot = ? WHERE singleton = 1", [.text(current)])
        return true
    }

    /// The boot the state's kernel objects belong to; empty when no write has recorded one.
    package func recordedBoot() throws(BerthError) -> String {
        try instanceRow().boot
    }

    /// Deletes every record of a kernel object that a reboot destroyed: endpoints with
    /// their port mappings (an endpoint's row is its lease, and holds its DNS name),
    /// publications with their ports, the resolver process. Each port table is emptied
    /// before its owners' table, rather than row by row through the foreign keys' cascade.
    private func forgetEarlierBoot() throws(BerthError) {
        try db().script("""
            DELETE FROM port_mappings;
            DELETE FROM endpoints;
            DELETE FROM publication_ports;
            DELETE FROM publications;
            DELETE FROM resolver;
            """)
    }
}
