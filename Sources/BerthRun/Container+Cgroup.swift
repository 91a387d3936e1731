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
    /// The cgroup manager for the containers of `manager`'s state. The parent is `berth` for
    /// the default state directory; any other state directory gets a parent of its own,
    /// `berth-<hash of its path>`, so that garbage collection of one state (which removes
    /// every cgroup under its parent that no container of its own holds) never touches the
    /// containers of another.
    public static func cgroups(manager: NetworkManager) throws(BerthError) -> CgroupManager {
        try CgroupManager(parent: cgroupParent(stateDirectory: manager.store.directory))
    }

    /// `berth`, or `berth-` and the FNV-1a hash of the state directory's path in hex.
    public static func cgroupParent(stateDirectory: String) -> String {
        if stateDirectory == StateStore.defaultDirectory { return CgroupManager.defaultParent }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateDirectory.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return CgroupManager.defaultParent + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Makes the cgroup a run of `record` goes into, with `options.limits`. A privileged
    /// container without limits runs without one on a host with no usable cgroup hierarchy
    /// (nothing is then limited, only stats and OOM detection are missing); any other is
    /// refused there: a limit is never ignored, and neither is Docker's device allow-list,
    /// which only a cgroup applies (without it, root in the container keeps CAP_MKNOD and
    /// could make and open a node of the host's disks).
    static func makeCgroup(_ record: ContainerRecord, options: RunOptions, manager: NetworkManager) throws(BerthError) -> ContainerCgroup? {
        let cgroups: CgroupManager
        do {
            cgroups = try Self.cgroups(manager: manager)
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

    /// Removes container `id`'s cgroup, killing anything still in it. Idempotent; a host
    /// without cgroups has nothing to remove.
    static func removeCgroup(id: String, manager: NetworkManager) throws(BerthError) {
        guard let cgroups = try? Self.cgroups(manager: manager) else { return }
        guard let cgroup = cgroups.existing(id: id) else { return }
        try cgroups.remove(cgroup)
    }

    /// The cgroup of a running container, for a command entering it. A container that is not
    /// privileged must have one, with its devices tree on v1 (`CgroupManager.entering`): the
    /// command is refused rather than run outside its device allow-list. A privileged one
    /// on a host without a usable cgroup hierarchy has none.
    static func currentCgroup(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) -> ContainerCgroup? {
        let restrictDevices = !(record.options?.process.privileged ?? false)
        let cgroups: CgroupManager
        do {
            cgroups = try Self.cgroups(manager: manager)
        } catch {
            guard restrictDevices else { return nil }
            throw error.with(object: .container(record.name), operation: .exec)
        }
        return try cgroups.entering(id: record.id, restrictDevices: restrictDevices)
    }

    /// Whether the OOM killer ended a process in container `id`'s cgroup during this run
    /// (read before `release` removes the cgroup).
    static func wasOOMKilled(id: String, manager: NetworkManager) -> Bool {
        guard let cgroups = try? Self.cgroups(manager: manager), let cgroup = cgroups.existing(id: id) else { return false }
        return ((try? cgroups.oomKills(cgroup)) ?? 0) > 0
    }

    /// Removes the cgroups of this state's containers that have none that could be running
    /// (not recorded, or exited and unsupervised): what a supervisor SIGKILLed left. Returns
    /// the failures, one per cgroup that could not be removed (a process stuck in the
    /// kernel); the others are removed all the same.
    ///
    /// Each cgroup is killed and removed only inside a write transaction that reads its
    /// container's row again: a start (whose claim or new row is a write, made before its
    /// cgroup) either is seen there, and its cgroup kept, or has not made its cgroup yet, so
    /// the cgroup of a run begun meanwhile is never taken. The wait for killed processes to
    /// end (up to `timeout` per cgroup) is outside the lock: attaches, detaches and hooks
    /// are not held up by a process the kernel is slow to let go.
    static func removeOrphanedCgroups(manager: NetworkManager) -> [BerthError] {
        guard let cgroups = try? Self.cgroups(manager: manager) else { return [] }
        return removeOrphanedCgroups(manager: manager, cgroups: cgroups)
    }

    /// `removeOrphanedCgroups(manager:)` with the cgroup manager given (tests: a fake tree).
    static func removeOrphanedCgroups(manager: NetworkManager, cgroups: CgroupManager, timeout: Duration = .seconds(10)) -> [BerthError] {
        let store: StateStore
        let candidates: [String]
        do {
            store = try manager.containerStore()
            let active = try store.read { tx throws(BerthError) in Set(try tx.containers().filter(mayRun).map(\.id)) }
            candidates = try cgroups.containerIDs().filter { !active.contains($0) }
        } catch {
            return [error]
        }
        var failures: [BerthError] = []
        for id in candidates {
            do throws(BerthError) {
                try removeOrphanedCgroup(cgroups.cgroup(id: id), store: store, cgroups: cgroups, timeout: timeout)
            } catch {
                failures.append(error)
            }
        }
        do {
            // A state directory of its own (tests, experiments) has a parent of its own that
            // would otherwise stay behind, empty, after its last container.
            try store.write { tx throws(BerthError) in
                if try tx.containers().allSatisfy({ !mayRun($0) }) { _ = cgroups.removeParentIfUnused() }
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
    /// read again (a container started meanwhile keeps it), waiting outside the lock.
    private static func removeOrphanedCgroup(_ cgroup: ContainerCgroup, store: StateStore, cgroups: CgroupManager,
                                             timeout: Duration) throws(BerthError) {
        let deadline = MonotonicClock.now + timeout
        while true {
            let done = try store.write { tx throws(BerthError) -> Bool in
                if let row = try tx.container(id: cgroup.id), mayRun(row) { return true }
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
        guard record.status == .running, let cgroups = try? Self.cgroups(manager: manager), let cgroup = cgroups.existing(id: record.id) else {
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
