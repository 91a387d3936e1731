#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import BerthNamespace

/// Stopping, removing and cleaning up after containers, from any process.
extension Container {
    /// Stops a container started by any process: its stop signal (`RunOptions.stopSignal`,
    /// SIGTERM by default), then SIGKILL after `timeout` (the command is PID 1 of its
    /// namespace, which ignores a signal it has no handler for). A nil `timeout` is the
    /// container's own (`RunOptions.stopTimeout`, 10 s by default); a negative one sends no
    /// SIGKILL: it waits until the command ends, as Docker's -1. Its restart policy does not
    /// apply: a stopped container stays stopped. Returns the record once its supervisor has
    /// recorded the exit and released the network — or, if the supervisor is gone, once this
    /// call has. Stopping a stopped container does nothing.
    ///
    /// `restarting`: the stop is the first half of a restart (`docker restart`): a container
    /// to be removed on exit (`--rm`) is kept, exited, for the start that follows — which
    /// clears the mark, so its next end removes it as usual. `killing`: SIGKILL at once, no
    /// stop signal first (`rm -f`, as Docker's: a handler for the stop signal never starts).
    @discardableResult
    public static func stop(_ nameOrID: String, timeout: Duration? = nil, restarting: Bool = false, killing: Bool = false,
                            manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let found = try find(nameOrID, manager: manager)
        if found.status == .exited, !found.isSupervised { return found }
        let wait = killing ? .zero : timeout ?? stopTimeout(of: found)
        // The flag and the row read in one transaction: a start that recorded its command
        // running before it is signalled below; one that records it after sees the flag and
        // kills its command itself. The SIGKILL's deadline goes with the flag: the supervisor
        // sends it then (`StopEscalation`) even if this process is gone by that time.
        let store = try manager.containerStore()
        let read = try store.write { tx throws(BerthError) -> ContainerRecord? in
            guard let row = try tx.container(id: found.id) else { return nil }
            let killAt = wait < .zero ? nil : MonotonicClock.milliseconds() + milliseconds(wait)
            try tx.requestStop(id: row.id, restarting: restarting, killAt: killAt)
            return row
        }
        guard let record = read else { return found }     // removed meanwhile (--rm)
        // Told to read the deadline: SIGCONT, which a supervisor that does not catch it (an
        // older berth's) ignores; one that is not running or setting up reads the flag anyway.
        if record.status == .running, let supervisor = record.supervisor { _ = try? supervisor.signal(SIGCONT) }
        var signal: Int32 = 0
        let stopSignal = killing ? SIGKILL : record.options?.effectiveStopSignal ?? SIGTERM
        if let process = record.process, try process.signal(stopSignal) {
            signal = stopSignal
            if !waitForExit(process, timeout: wait) {
                try process.signal(SIGKILL)
                signal = SIGKILL
                guard process.waitForExit(timeout: .seconds(10)) else {
                    throw BerthError(.system, "container \(record.name) (process \(process.pid)) did not end after SIGKILL",
                                     hint: "is it stuck in the kernel (state D in /proc/\(process.pid)/stat)?", object: .container(record.name), operation: .stop)
                }
            }
        }
        return try awaitSupervisor(record, signal: signal, manager: manager)
    }

    /// Whole milliseconds of a non-negative duration, rounded up.
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }

    /// The container's own stop timeout: negative for none.
    static func stopTimeout(of record: ContainerRecord) -> Duration {
        .seconds(record.options?.stopTimeout ?? RunOptions.defaultStopTimeout)
    }

    /// Whether `process` ended within `timeout`; a negative `timeout` waits until it does.
    static func waitForExit(_ process: ProcessIdentity, timeout: Duration) -> Bool {
        guard timeout < .zero else { return process.waitForExit(timeout: timeout) }
        while !process.waitForExit(timeout: .seconds(60)) {}
        return true
    }

    /// Removes a stopped container: its record and its log (and, if anything was left, its
    /// endpoint). A running one is refused unless `force`, which kills it first (SIGKILL, as
    /// `docker rm -f`). Returns the removed record.
    ///
    /// The check and the deletion are one transaction, so a container started meanwhile is
    /// refused, not torn down; what it held is released only once its record is gone.
    @discardableResult
    public static func remove(_ nameOrID: String, force: Bool = false, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let found = try find(nameOrID, manager: manager)
        // Ended, its supervisor still releasing it (`run -d … true; rm`): waited out, not refused.
        guard var record = try awaitRelease(found, manager: manager) else { return found }
        var attempts = 0
        while true {
            if force, isRunning(record) { record = try stop(record.id, timeout: .zero, killing: true, manager: manager) }
            let name = record.name
            let id = record.id
            let removed: Result<ContainerRecord?, BerthError>
            do throws(BerthError) {
                removed = .success(try manager.containerStore().write { tx throws(BerthError) -> ContainerRecord? in
                    guard let row = try tx.container(id: id) else { return nil }
                    if isRunning(row) {
                        throw BerthError(.conflict, "cannot remove container \(name): it is running", object: .container(name),
                                         operation: .remove, remedy: .stop(.container(name)))
                    }
                    // An ended one keeps its status for a `wait` begun before the removal.
                    if let code = row.exitCode, row.status == .exited {
                        try tx.removeEnded(id: row.id, exitCode: code, finished: row.finished ?? StateClock.now())
                    } else {
                        try tx.deleteContainer(id: row.id)
                    }
                    return row
                })
            } catch {
                removed = .failure(error)
            }
            switch removed {
            case .success(let row?):
                // An orphan whose command is gone may still hold its endpoint.
                defer { ContainerLog.remove(state: manager.store.directory, id: row.id) }
                try release(row, manager: manager)
                return row
            case .success(nil):
                return record                              // removed meanwhile (--rm)
            case .failure(let error):
                // Started again between the stop and the removal: stop it again.
                attempts += 1
                guard force, attempts < 3, error.code == .conflict, let again = try? find(record.id, manager: manager) else { throw error }
                record = again
            }
        }
    }

    /// Whether its command may still run: it has a live supervisor (running, being set up,
    /// waiting to restart, or still releasing its network), or its supervisor died and left
    /// its command alive.
    private static func isRunning(_ record: ContainerRecord) -> Bool {
        record.isSupervised || (record.status != .exited && record.process?.isAlive == true)
    }

    /// An orphaned container that could not be released (it stays, for the next gc), or —
    /// `container` nil — a failure of the sweep itself (the list, a cgroup, the logs).
    public struct OrphanFailure: Sendable {
        /// The container's name, or nil for the sweep.
        public var container: String?
        /// Why.
        public var error: BerthError
    }

    /// What `collectOrphans` did.
    public struct OrphanCollection: Sendable {
        /// The containers stopped or removed.
        public var handled: [ContainerRecord] = []
        /// What could not be released, each on its own: the rest was all the same.
        public var failures: [OrphanFailure] = []
    }

    /// Stops the containers whose supervisor is gone (killed, or crashed): kills the command
    /// if it still runs, releases its endpoint, address, ports and cgroup and records it exited
    /// (or removes it, if it was to be removed on exit). Also finishes what a supervisor that
    /// died after recording an exit left: removes such a container to be removed on exit, and
    /// releases what another still held. Also removes the cgroups and logs no running
    /// container owns.
    ///
    /// One container that cannot be released (its endpoint's detach fails) is reported in
    /// `failures` and the others are released all the same, as are the cgroups and logs.
    /// Call it before `NetworkManager.gc()`; that one then finds nothing left of them.
    public static func collectOrphans(manager: NetworkManager) -> OrphanCollection {
        var result = OrphanCollection()
        let records: [ContainerRecord]
        do {
            records = try list(manager: manager)
        } catch {
            result.failures.append(OrphanFailure(container: nil, error: error))
            return result
        }
        // Each is claimed before anything of it is released: one started (or reaped) since
        // this list was read is skipped.
        for record in records where !record.isSupervised {
            do throws(BerthError) {
                if record.status != .exited {
                    if let left = try reapOrphan(record, manager: manager) { result.handled.append(left) }
                } else if record.options?.autoRemove == true, !record.restartRequested {
                    // Its supervisor died after recording the exit, before removing it.
                    if try finishOrphan(record, removes: true, manager: manager) { result.handled.append(record) }
                } else if record.supervisor != nil {
                    // Its supervisor died after recording the exit, before releasing the network.
                    _ = try finishOrphan(record, removes: false, manager: manager)
                }
            } catch {
                result.failures.append(OrphanFailure(container: record.name, error: error))
            }
        }
        // Every cgroup it can remove is removed; each that cannot is one failure.
        result.failures += removeOrphanedCgroups(manager: manager).map { OrphanFailure(container: nil, error: $0) }
        // The directories first, then the rows: a container's row is inserted before its
        // directory is made, so a directory listed here belongs to a row read after it (a
        // `run` making one now keeps its log and /etc files) unless that row is gone.
        let directories = ContainerLog.ids(state: manager.store.directory)
        do {
            let known = Set(try list(manager: manager).map(\.id))
            for id in directories where !known.contains(id) {
                ContainerLog.remove(state: manager.store.directory, id: id)
            }
        } catch {
            result.failures.append(OrphanFailure(container: nil, error: error))
        }
        return result
    }

    /// `collectOrphans`, throwing its first failure once it has done all it can. Returns
    /// the containers it stopped or removed.
    public static func removeOrphans(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        let result = collectOrphans(manager: manager)
        if let failure = result.failures.first { throw failure.error }
        return result.handled
    }

    // MARK: - Helpers

    /// Records the end of a run this process supervised — in one transaction, against the stop
    /// flag: marks it restarting (the policy allows another run and no stop was asked for),
    /// or exited (a container to be removed on exit: removed) — then releases the network
    /// and gives it up. A release that fails goes to `releaseFailed` and leaves the rest for
    /// garbage collection: the exit is recorded whatever happens to the network. Returns
    /// whether it restarts. `cgroupParent`: the state's, read when the run started
    /// (`RunningContainer.cgroupParent`), so that the cgroup goes even when the state can be
    /// neither written nor read now.
    static func finish(_ record: ContainerRecord, exit: ContainerExit, restart: RestartPolicy, mayRestart: Bool = true,
                       manager: NetworkManager, cgroupParent: String? = nil, releaseFailed: (BerthError) -> Void = { _ in }) throws(BerthError) -> Bool {
        let oomKilled = wasOOMKilled(id: record.id, manager: manager)
        let now = StateClock.now()
        let store = try manager.containerStore()
        var removes = false
        let restarting: Bool
        do {
            restarting = try store.write { tx throws(BerthError) -> Bool in
                let row = try tx.requireContainer(id: record.id)
                try tx.markExited(id: record.id, exitCode: exit.code, finished: now, oomKilled: oomKilled)
                if mayRestart, restart.restarts(after: exit, restarts: row.restartCount), try tx.markRestarting(id: record.id) { return true }
                // A restart's stop keeps it for the start that follows.
                removes = record.options?.autoRemove == true && !row.restartRequested
                if removes { try tx.removeEnded(id: record.id, exitCode: exit.code, finished: now) }
                return false
            }
        } catch {
            // The exit could not be recorded, but the run has ended and this process still
            // supervises the container, so no other run of it can have started: its cgroup,
            // where a process of the command (a daemon of its own) may linger, goes now
            // rather than when gc reaps the row after this process. The endpoint stays for
            // that gc: the row still says it is running, and gc releases the rest. With the
            // parent read before: the state this write failed on may be unreadable too.
            try? removeCgroup(id: record.id, manager: manager, parent: cgroupParent)
            throw error
        }
        try RunFailPoint.check("supervise.release")
        release(record, manager: manager, cgroupParent: cgroupParent, failed: releaseFailed)
        if !restarting {
            if removes {
                ContainerLog.remove(state: manager.store.directory, id: record.id)
            } else {
                // Supervised until released: a start or rm waits for it.
                try store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: record.supervisor) }
            }
        }
        return restarting
    }

    /// `release`, its failure handed to `failed` rather than thrown.
    static func release(_ record: ContainerRecord, manager: NetworkManager, cgroupParent: String? = nil, failed: (BerthError) -> Void) {
        do {
            try release(record, manager: manager, cgroupParent: cgroupParent)
        } catch {
            failed(error)
        }
    }

    /// A container whose end is recorded but whose supervisor still releases its network
    /// (`finish` gives it up right after): waited for, as `awaitSupervisor` does, 10 s at
    /// most, so a `start` or `rm` right after the command ended is not refused for it.
    /// Returns the row as it is then (still supervised if the supervisor took longer: the
    /// caller refuses it as before), or nil if it was removed meanwhile (`--rm`).
    static func awaitRelease(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) -> ContainerRecord? {
        guard record.status == .exited, record.isSupervised else { return record }
        let store = try manager.containerStore()
        let deadline = MonotonicClock.now + .seconds(10)
        while true {
            guard let row = try store.read({ tx throws(BerthError) in try tx.container(id: record.id) }) else { return nil }
            if row.status != .exited || !row.isSupervised || MonotonicClock.now >= deadline { return row }
            Sleep.for(.milliseconds(5))
        }
    }

    /// Waits until the supervisor of a container whose command was stopped has recorded its
    /// end; does it here if the supervisor is gone. Returns the record as it is then.
    static func awaitSupervisor(_ record: ContainerRecord, signal: Int32, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let store = try manager.containerStore()
        func current() throws(BerthError) -> ContainerRecord? {
            try store.read { tx throws(BerthError) in try tx.container(id: record.id) }
        }
        let deadline = MonotonicClock.now + .seconds(10)
        while true {
            guard let now = try current() else {
                // Removed on exit (--rm), in the transaction that recorded it: the supervisor
                // releases the network right after.
                if try !isReleased(record, manager: manager), record.isSupervised, MonotonicClock.now < deadline {
                    Sleep.for(.milliseconds(5))
                    continue
                }
                return record
            }
            if now.status == .exited {
                // Recorded; its supervisor gives it up once it has released the network.
                if !now.isSupervised { return now }
            } else if !now.isSupervised {
                // Nil: the row changed meanwhile (another reaped it); read it again.
                if let left = try reapOrphan(now, manager: manager, signal: signal) { return left }
                continue
            }
            if MonotonicClock.now >= deadline {
                throw BerthError(.system, "the supervisor of container \(record.name) (process \(now.supervisor?.pid ?? 0)) did not record its end",
                                 object: .container(record.name), operation: .stop, remedy: .collectGarbage)
            }
            Sleep.for(.milliseconds(5))
        }
    }

    /// Whether a container's endpoint is gone (or it had none).
    private static func isReleased(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) -> Bool {
        guard let id = record.endpointID else { return true }
        return try !manager.endpoints().contains { $0.id == id }
    }

    /// Does what a dead supervisor did not: kills the command, releases the network, records
    /// the exit (128 + the signal that ended it when this process sent one, else 255, as
    /// Docker reports an exit it did not see) — or removes the container, if it was to be
    /// removed on exit. Returns the record as it was left, or nil if its row no longer is as
    /// `seen` read it (started, stopped or reaped by someone else meanwhile): then nothing
    /// was touched.
    ///
    /// The orphan is claimed first (`claimOrphan`: this process becomes its supervisor, so a
    /// concurrent start refuses); only then is anything killed or released.
    @discardableResult
    static func reapOrphan(_ seen: ContainerRecord, manager: NetworkManager, signal: Int32 = 0) throws(BerthError) -> ContainerRecord? {
        let me = try ProcessIdentity.current()
        let store = try manager.containerStore()
        guard let record = try store.write({ tx throws(BerthError) in try tx.claimOrphan(seen, reaper: me) }) else { return nil }
        do {
            return try reapClaimed(record, me: me, store: store, manager: manager, signal: signal)
        } catch {
            // Given up again, so the next gc or start finds an orphan, not this process's.
            _ = try? store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: me) }
            throw error
        }
    }

    /// `reapOrphan`'s work once `record` is claimed by `me`.
    private static func reapClaimed(_ record: ContainerRecord, me: ProcessIdentity, store: StateStore, manager: NetworkManager,
                                    signal: Int32) throws(BerthError) -> ContainerRecord {
        var code: Int32 = signal == 0 ? 255 : 128 + signal
        var now = StateClock.now()
        // Waiting to restart, it has no command: its last end, recorded, is its status.
        if record.status == .restarting, record.process == nil, let last = record.exitCode {
            code = last
            now = record.finished ?? now
        }
        if let process = record.process, try process.signal(SIGKILL) {
            _ = process.waitForExit(timeout: .seconds(10))
            code = 128 + SIGKILL
        }
        let oomKilled = wasOOMKilled(id: record.id, manager: manager)
        try release(record, manager: manager)
        var left = record
        // A restart's stop keeps it for the start that follows.
        let removes = record.options?.autoRemove == true && !record.restartRequested
        try store.write { tx throws(BerthError) in
            guard let row = try tx.container(id: record.id), row.supervisor == me else { return }
            if removes {
                try tx.removeEnded(id: record.id, exitCode: code, finished: now)
            } else {
                try tx.markExited(id: record.id, exitCode: code, finished: now, oomKilled: oomKilled)
                try tx.setSupervisor(id: record.id, nil)
            }
        }
        left.status = .exited
        left.process = nil
        left.supervisor = nil
        left.exitCode = code
        left.oomKilled = oomKilled
        left.finished = now
        if removes { ContainerLog.remove(state: manager.store.directory, id: record.id) }
        return left
    }

    /// What a supervisor that died after recording an exit left: claims the row (as
    /// `reapOrphan`), releases what it may still hold, then removes it (`removes`) or gives
    /// it up. False, touching nothing, if the row changed since `seen` was read.
    static func finishOrphan(_ seen: ContainerRecord, removes: Bool, manager: NetworkManager) throws(BerthError) -> Bool {
        let me = try ProcessIdentity.current()
        let store = try manager.containerStore()
        guard let record = try store.write({ tx throws(BerthError) in try tx.claimOrphan(seen, reaper: me) }) else { return false }
        do throws(BerthError) {
            try release(record, manager: manager)
        } catch {
            _ = try? store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: me) }
            throw error
        }
        if removes {
            let removed = try store.write { tx throws(BerthError) -> Bool in
                guard let row = try tx.container(id: record.id), row.supervisor == me else { return false }
                return try tx.removeEnded(id: record.id, exitCode: row.exitCode ?? 255, finished: row.finished ?? StateClock.now())
            }
            if removed { ContainerLog.remove(state: manager.store.directory, id: record.id) }
            return removed
        }
        try store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: me) }
        return true
    }
}

extension Container {
    /// A supervisor gives up a container it holds without a run to record (a start that
    /// failed, a restart that did not happen): exited, as it last ended, then its network
    /// released (a failure goes to `releaseFailed`, the rest left for garbage collection),
    /// then unsupervised.
    static func unsupervise(_ record: ContainerRecord, manager: NetworkManager, releaseFailed: (BerthError) -> Void = { _ in }) throws(BerthError) {
        let store = try manager.containerStore()
        try store.write { tx throws(BerthError) in
            guard try tx.container(id: record.id) != nil else { return }
            try tx.setContainerStatus(id: record.id, .exited)
        }
        release(record, manager: manager, failed: releaseFailed)
        try store.write { tx throws(BerthError) in try tx.clearSupervisor(id: record.id, if: record.supervisor) }
    }
}
