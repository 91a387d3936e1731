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
    /// (not recorded, or exited and unsupervised): what a supervisor SIGKILLed left.
    ///
    /// The rows are read and the cgroups removed inside one write transaction: a start (whose
    /// claim or new row is a write, made before its cgroup) either is seen here or waits
    /// until the sweep is over, so the cgroup of a run begun meanwhile is never taken.
    static func removeOrphanedCgroups(manager: NetworkManager) throws(BerthError) {
        guard let cgroups = try? Self.cgroups(manager: manager) else { return }
        try manager.containerStore().write { tx throws(BerthError) in
            let active = Set(try tx.containers().filter { $0.status != .exited || $0.isSupervised }.map(\.id))
            _ = try cgroups.removeOrphans(keeping: active)
            // A state directory of its own (tests, experiments) has a parent of its own that
            // would otherwise stay behind, empty, after its last container.
            if active.isEmpty { _ = cgroups.removeParentIfUnused() }
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
