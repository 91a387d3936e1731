#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
public import BerthConfine

/// Each container's cgroup: made by `launch` before its process exists (the process is
/// created in it or joins it before its command runs), removed when the run ends
/// (`release`), joined by `exec`, and swept by `removeOrphans` after a crash.
extension Container {
    /// The cgroup manager for the containers of `manager`'s state, under the parent named
    /// after the state's instance (`cgroupParent(instance:)`): each state, the default one
    /// included, has a parent of its own, so that garbage collection of one state (which
    /// removes every cgroup under its parent that no container of its own holds) never
    /// touches the containers of another — not even of a state at the same path (a fence's
    /// private /var/lib/berth beside the machine's, a state directory made again).
    public static func cgroups(manager: NetworkManager) throws(BerthError) -> CgroupManager {
        try CgroupManager(parent: cgroupParent(manager: manager))
    }

    /// `berth-` and the state's instance id (8 hex digits, drawn at random for each state).
    public static func cgroupParent(instance: StateInstance) -> String {
        CgroupManager.defaultParent + "-" + instance.id
    }

    /// The parent of `manager`'s state, its instance read from the state.
    static func cgroupParent(manager: NetworkManager) throws(BerthError) -> String {
        try cgroupParent(instance: manager.store.read { tx throws(BerthError) in try tx.instance() })
    }

    /// The parent an older Berth put the containers of the state at `stateDirectory` under,
    /// keyed on its path alone: `berth` for the default state directory, else `berth-` and
    /// the FNV-1a hash of the path in 16 hex digits (never 8: no instance's parent has its
    /// name). A container started by such a Berth may still run in it: it is stopped,
    /// removed and collected there too, but gc takes from it only cgroups of containers this
    /// state records (another state at the same path uses the same name).
    static func legacyCgroupParent(stateDirectory: String) -> String {
        if stateDirectory == StateStore.defaultDirectory { return CgroupManager.defaultParent }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateDirectory.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return CgroupManager.defaultParent + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The state's cgroup managers: its own parent's (`parent`, else read from the state),
    /// then the legacy parent's; nil on a host without a usable cgroup hierarchy. A state
    /// that cannot be read throws (never with `parent`).
    static func cgroupManagers(manager: NetworkManager, parent: String? = nil) throws(BerthError) -> (own: CgroupManager, legacy: CgroupManager)? {
        let parent = if let parent { parent } else { try cgroupParent(manager: manager) }
        guard let own = try? CgroupManager(parent: parent) else { return nil }
        return (own, try own.withParent(legacyCgroupParent(stateDirectory: manager.store.directory)))
    }

    /// Container `id`'s cgroup as it exists now: under the state's own parent, else (a
    /// container an older Berth started) under the legacy one; with the manager it is under.
    static func existingCgroup(id: String, manager: NetworkManager) -> (CgroupManager, ContainerCgroup)? {
        guard let managers = try? cgroupManagers(manager: manager) else { return nil }
        for cgroups in [managers.own, managers.legacy] {
            if let cgroup = cgroups.existing(id: id) { return (cgroups, cgroup) }
        }
        return nil
    }

    /// Makes the cgroup a run of `record` goes into, with `options.limits`. A privileged
    /// container without limits runs without one on a host with no usable cgroup hierarchy
    /// (nothing is then limited, only stats and OOM detection are missing); any other is
    /// refused there: a limit is never ignored, and neither is Docker's device allow-list,
    /// which only a cgroup applies (without it, root in the container keeps CAP_MKNOD and
    /// could make and open a node of the host's disks).
    /// `parent`: the state's (`cgroupParent(manager:)`), read once by the caller.
    static func makeCgroup(_ record: ContainerRecord, options: RunOptions, parent: String) throws(BerthError) -> ContainerCgroup? {
        let cgroups: CgroupManager
        do {
            cgroups = try CgroupManager(parent: parent)
        } catch {
            guard options.limits.isEmpty else { throw error.with(operation: .run) }
            if options.process.privileged { return nil }
            throw BerthError(.unsupported, "this host has no usable cgroup hierarchy, so the container's device nodes cannot be restricted",
                             hint: "mount the cgroup controllers, or run the container privileged", operation: .run, cause: error)
        }
        do throws(BerthError) {
            return try cgroups.create(id: record.id, limits: options.limits, restrictDevices: !options.process.privileged)
        } catch where error.code == .alreadyExists {
            // Left by a run whose supervisor died before removing it: nothing of this
            // container runs now (launch is only called then), so it is stale.
            try cgroups.remove(cgroups.cgroup(id: record.id))
            return try cgroups.create(id: record.id, limits: options.limits, restrictDevices: !options.process.privileged)
        }
    }

    /// Removes container `id`'s cgroup, killing anything still in it: under the state's own
    /// parent and under the legacy one (a container an older Berth started). Idempotent; a
    /// host without cgroups has nothing to remove. Throws the first failure once both were tried.
    /// With `parent` (the state's, read earlier) the state is not read: a caller whose write
    /// to it just failed still removes the cgroup.
    static func removeCgroup(id: String, manager: NetworkManager, parent: String? = nil) throws(BerthError) {
        guard let managers = try cgroupManagers(manager: manager, parent: parent) else { return }
        var failure: BerthError?
        for cgroups in [managers.own, managers.legacy] {
            guard let cgroup = cgroups.existing(id: id) else { continue }
            do throws(BerthError) { try cgroups.remove(cgroup) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// The cgroup of a running container, for a command entering it. A container that is not
    /// privileged must have one, with its devices tree on v1 (`CgroupManager.entering`): the
    /// command is refused rather than run outside its device allow-list. A privileged one
    /// on a host without a usable cgroup hierarchy has none.
    static func currentCgroup(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) -> ContainerCgroup? {
        let restrictDevices = !(record.options?.process.privileged ?? false)
        let parent = try cgroupParent(manager: manager)
        let cgroups: CgroupManager
        do {
            cgroups = try CgroupManager(parent: parent)
        } catch {
            guard restrictDevices else { return nil }
            throw error.with(object: .container(record.name), operation: .exec)
        }
        // Started by an older Berth: its cgroup is under the legacy parent.
        let legacy = try cgroups.withParent(legacyCgroupParent(stateDirectory: manager.store.directory))
        if cgroups.existing(id: record.id) == nil, legacy.existing(id: record.id) != nil {
            return try legacy.entering(id: record.id, restrictDevices: restrictDevices)
        }
        return try cgroups.entering(id: record.id, restrictDevices: restrictDevices)
    }

    /// Whether the OOM killer ended a process in container `id`'s cgroup during this run
    /// (read before `release` removes the cgroup).
    static func wasOOMKilled(id: String, manager: NetworkManager) -> Bool {
        guard let (cgroups, cgroup) = existingCgroup(id: id, manager: manager) else { return false }
        return ((try? cgroups.oomKills(cgroup)) ?? 0) > 0
    }

    /// Removes the cgroups of this state's containers that have none that could be running
    /// (not recorded, or exited and unsupervised): what a supervisor SIGKILLed left. Returns
    /// the failures, one per cgroup that could not be removed (a process stuck in the
    /// kernel); the others are removed all the same.
    ///
    /// Under the state's own parent every cgroup no running container holds goes; under the
    /// legacy parent (`legacyCgroupParent`), which another state at the same path shares,
    /// only those of containers this state records.
    ///
    /// Each cgroup is killed and removed only inside a write transaction that reads its
    /// container's row again: a start (whose claim or new row is a write, made before its
    /// cgroup) either is seen there, and its cgroup kept, or has not made its cgroup yet, so
    /// the cgroup of a run begun meanwhile is never taken. The wait for killed processes to
    /// end (up to `timeout` per cgroup) is outside the lock: attaches, detaches and hooks
    /// are not held up by a process the kernel is slow to let go.
    static func removeOrphanedCgroups(manager: NetworkManager) -> [BerthError] {
        let managers: (own: CgroupManager, legacy: CgroupManager)?
        do { managers = try cgroupManagers(manager: manager) } catch { return [error] }
        guard let managers else { return [] }
        return removeOrphanedCgroups(manager: manager, cgroups: managers.own, legacy: managers.legacy)
    }

    /// `removeOrphanedCgroups(manager:)` with the cgroup managers given (tests: a fake tree).
    static func removeOrphanedCgroups(manager: NetworkManager, cgroups: CgroupManager, legacy: CgroupManager? = nil,
                                      timeout: Duration = .seconds(10)) -> [BerthError] {
        let store: StateStore
        // Each with its manager and whether only a recorded container's is taken.
        var candidates: [(CgroupManager, String, Bool)] = []
        do {
            store = try manager.containerStore()
            let rows = try store.read { tx throws(BerthError) in try tx.containers() }
            let active = Set(rows.filter(mayRun).map(\.id))
            candidates = try cgroups.containerIDs().filter { !active.contains($0) }.map { (cgroups, $0, false) }
            if let legacy {
                let ended = Set(rows.filter { !mayRun($0) }.map(\.id))
                candidates += try legacy.containerIDs().filter { ended.contains($0) }.map { (legacy, $0, true) }
            }
        } catch {
            return [error]
        }
        var failures: [BerthError] = []
        for (owner, id, recordedOnly) in candidates {
            do throws(BerthError) {
                try removeOrphanedCgroup(owner.cgroup(id: id), store: store, cgroups: owner, recordedOnly: recordedOnly, timeout: timeout)
            } catch {
                failures.append(error)
            }
        }
        do {
            // Each state's parent would otherwise stay behind, empty, after its last
            // container (the legacy default `berth` is kept: `removeParentIfUnused`).
            try store.write { tx throws(BerthError) in
                if try tx.containers().allSatisfy({ !mayRun($0) }) {
                    _ = cgroups.removeParentIfUnused()
                    _ = legacy?.removeParentIfUnused()
                }
            }
        } catch {
            failures.append(error)
        }
        return failures
    }

    /// Whether a container's command may run, or be about to: its cgroup is its own.
    private static func mayRun(_ record: ContainerRecord) -> Bool {
        record.status != .exited || record.isSupervised
    }

    /// Kills and removes one orphan's cgroup, each pass under the write lock with the row
    /// read again (a container started meanwhile keeps it; with `recordedOnly`, one this
    /// state no longer records is left too), waiting outside the lock.
    private static func removeOrphanedCgroup(_ cgroup: ContainerCgroup, store: StateStore, cgroups: CgroupManager,
                                             recordedOnly: Bool, timeout: Duration) throws(BerthError) {
        let deadline = MonotonicClock.now + timeout
        while true {
            let done = try store.write { tx throws(BerthError) -> Bool in
                let row = try tx.container(id: cgroup.id)
                if let row, mayRun(row) { return true }
                if row == nil, recordedOnly { return true }
                return try cgroups.removeOnce(cgroup)
            }
            if done { return }
            // Killed: its processes end without the lock held.
            repeat {
                guard MonotonicClock.now < deadline else { throw cgroups.stillBusy(cgroup) }
                usleep(2000)
            } while !((try? cgroups.processes(cgroup).isEmpty) ?? true)
        }
    }
}

extension Container {
    /// What a running container consumes now, from its cgroup (`docker stats`' figures; two
    /// samples give CPU %, see `CgroupStats.cpuPercent`). A container that is not running
    /// has no cgroup: `.conflict`.
    public static func stats(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) -> CgroupStats {
        guard record.status == .running, let (cgroups, cgroup) = existingCgroup(id: record.id, manager: manager) else {
            throw BerthError(.conflict, "container \(record.name) is not running", object: .container(record.name), operation: .stats,
                             remedy: .listExisting(.container))
        }
        return try cgroups.stats(cgroup)
    }
}

extension BerthError.Operation {
    /// Reading a container's resource use.
    public static let stats = BerthError.Operation(rawValue: "stats")
}
