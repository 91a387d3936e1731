import BerthCore
import BerthNetwork
import Synchronization

/// A reboot ends every container's command and supervisor while their records survive it,
/// and a (pid, start time) pair of the earlier boot can name a new, unrelated process of
/// this one: trusted, `stop`, `rm -f` or `gc` would signal it. So the containers' rows
/// record the boot they belong to (`container_boot`, the kernel's boot id, as the network
/// layer's instance row does; see docs/networks.md "After a reboot"), and the first use of
/// the containers' tables in a process settles a state of an earlier boot before anything
/// reads them: every container not exited becomes exited with status 255 (an end nobody
/// saw, as `gc` records a vanished command) — one waiting to restart, with no command and
/// its last end recorded, keeps that end, as `gc` does —, and none keeps a process or supervisor.
/// Nothing is signalled: what those identities named is gone.
enum ContainerBoot {
    /// The state directories this process has settled (a boot does not change while it runs).
    private static let settled = Mutex<Set<String>>([])

    /// Settles `manager`'s containers to the boot it runs in, once per process and state.
    /// An unknown boot (nil) checks nothing.
    static func settle(_ manager: NetworkManager) throws(BerthError) {
        let directory = manager.store.directory
        guard !settled.withLock({ $0.contains(directory) }) else { return }
        if let boot = manager.host.bootID {
            let recorded = try manager.store.read { tx throws(BerthError) in try tx.containerBoot() }
            if recorded != boot {
                _ = try manager.store.write { tx throws(BerthError) in try tx.settleContainers(boot: boot, now: StateClock.now()) }
            }
        }
        settled.withLock { _ = $0.insert(directory) }
    }
}

extension StateTransaction {
    /// The boot the containers' rows belong to; nil when none was recorded yet.
    func containerBoot() throws(BerthError) -> String? {
        try db().queryFirst("SELECT boot FROM container_boot", []) { row in row.text(0) }
    }

    /// Brings the containers to the boot `current`: records it and, when another one was
    /// recorded, settles every row of that earlier boot (exited 255 unless it had exited or
    /// was waiting to restart with its last end recorded; no process, no supervisor). None recorded (a store just made or upgraded on a running
    /// system, whose rows are this boot's) is only replaced. Returns how many containers
    /// were running, set up or restarting.
    @discardableResult
    func settleContainers(boot current: String, now: Int64) throws(BerthError) -> Int {
        let db = try db()
        let recorded = try containerBoot()
        guard recorded != current else { return 0 }
        var ended = 0
        if recorded != nil {
            // One waiting to restart (no command, its last end recorded) keeps that end as its
            // status, as `gc` records it (`Container.reapOrphan`); any other end went unseen.
            ended = try db.execute("""
                UPDATE containers SET status = 'exited',
                    exit_code = CASE WHEN status = 'restarting' AND pid IS NULL AND exit_code IS NOT NULL THEN exit_code ELSE 255 END,
                    finished = CASE WHEN status = 'restarting' AND pid IS NULL AND exit_code IS NOT NULL THEN COALESCE(finished, ?1) ELSE ?1 END,
                    pid = NULL, start_time = NULL
                WHERE status != 'exited'
                """, [.integer(now)])
            _ = try db.execute("""
                UPDATE containers SET pid = NULL, start_time = NULL, supervisor_pid = NULL, supervisor_start_time = NULL
                WHERE pid IS NOT NULL OR supervisor_pid IS NOT NULL
                """)
        }
        _ = try db.execute("INSERT INTO container_boot (singleton, boot) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET boot = excluded.boot",
                           [.text(current)])
        return ended
    }
}
