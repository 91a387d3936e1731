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
    /// Stops a container started by any process: SIGTERM, then SIGKILL after `timeout` (the
    /// command is PID 1 of its namespace, which ignores SIGTERM unless it handles it). Its
    /// restart policy does not apply: a stopped container stays stopped. Returns the record
    /// once its supervisor has recorded the exit and released the network — or, if the
    /// supervisor is gone, once this call has. Stopping a stopped container does nothing.
    @discardableResult
    public static func stop(_ nameOrID: String, timeout: Duration = .seconds(10), manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let record = try find(nameOrID, manager: manager)
        if record.status == .exited, record.process == nil { return record }
        let store = try manager.containerStore()
        try store.write { tx throws(BerthError) in try tx.requestStop(id: record.id) }
        var signal: Int32 = 0
        if let process = record.process, try process.signal(SIGTERM) {
            signal = SIGTERM
            if !process.waitForExit(timeout: timeout) {
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

    /// Removes a stopped container: its record and its log (and, if anything was left, its
    /// endpoint). A running one is refused unless `force`, which kills it first (SIGKILL, as
    /// `docker rm -f`). Returns the removed record.
    @discardableResult
    public static func remove(_ nameOrID: String, force: Bool = false, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        var record = try find(nameOrID, manager: manager)
        let running = record.isActive || (record.status != .exited && record.process?.isAlive == true)
        if running {
            guard force else {
                throw BerthError(.conflict, "cannot remove container \(record.name): it is running", object: .container(record.name),
                                 operation: .remove, remedy: .stop(.container(record.name)))
            }
            record = try stop(record.id, timeout: .zero, manager: manager)
        }
        // An orphan whose command is gone may still hold its endpoint.
        try release(record, manager: manager)
        try manager.containerStore().write { tx throws(BerthError) in _ = try tx.deleteContainer(id: record.id) }
        ContainerLog.remove(state: manager.store.directory, id: record.id)
        return record
    }

    /// Stops the containers whose supervisor is gone (killed, or crashed): kills the command
    /// if it still runs, releases its endpoint, address, ports and cgroup and records it exited
    /// (or removes it, if it was to be removed on exit). Also removes the cgroups and logs no
    /// running container owns.
    /// Returns the containers it stopped.
    ///
    /// Call it before `NetworkManager.gc()`; that one then finds nothing left of them.
    public static func removeOrphans(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        var handled: [ContainerRecord] = []
        let records = try list(manager: manager)
        for record in records where record.status != .exited && !record.isSupervised {
            handled.append(try reapOrphan(record, manager: manager))
        }
        try removeOrphanedCgroups(manager: manager)
        let known = Set(try list(manager: manager).map(\.id))
        for id in ContainerLog.ids(state: manager.store.directory) where !known.contains(id) {
            ContainerLog.remove(state: manager.store.directory, id: id)
        }
        return handled
    }

    // MARK: - Helpers

    /// Records the end of a run this process supervised: releases the network, then — in one
    /// transaction, against the stop flag — either marks it restarting (the policy allows
    /// another run and no stop was asked for) or exited and unsupervised. A container to be
    /// removed on exit is removed. Returns whether it restarts.
    static func finish(_ record: ContainerRecord, exit: ContainerExit, restart: RestartPolicy, mayRestart: Bool = true,
                       manager: NetworkManager) throws(BerthError) -> Bool {
        let oomKilled = wasOOMKilled(id: record.id, manager: manager)
        try release(record, manager: manager)
        let now = StateClock.now()
        let restarting = try manager.containerStore().write { tx throws(BerthError) -> Bool in
            let row = try tx.requireContainer(id: record.id)
            try tx.markExited(id: record.id, exitCode: exit.code, finished: now, oomKilled: oomKilled)
            if mayRestart, restart.restarts(after: exit, restarts: row.restartCount), try tx.markRestarting(id: record.id) { return true }
            try tx.setSupervisor(id: record.id, nil)
            return false
        }
        if !restarting, record.options?.autoRemove == true {
            try manager.containerStore().write { tx throws(BerthError) in _ = try tx.deleteContainer(id: record.id) }
            ContainerLog.remove(state: manager.store.directory, id: record.id)
        }
        return restarting
    }

    /// Waits until the supervisor of a container whose command was stopped has recorded its
    /// end; does it here if the supervisor is gone. Returns the record as it is then.
    private static func awaitSupervisor(_ record: ContainerRecord, signal: Int32, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let store = try manager.containerStore()
        func current() throws(BerthError) -> ContainerRecord? {
            try store.read { tx throws(BerthError) in try tx.container(id: record.id) }
        }
        let deadline = MonotonicClock.now + .seconds(10)
        while true {
            guard let now = try current() else { return record }     // removed on exit (--rm)
            if now.status == .exited { return now }
            if !now.isSupervised { return try reapOrphan(now, manager: manager, signal: signal) }
            if MonotonicClock.now >= deadline {
                throw BerthError(.system, "the supervisor of container \(record.name) (process \(now.supervisor?.pid ?? 0)) did not record its end",
                                 object: .container(record.name), operation: .stop, remedy: .collectGarbage)
            }
            Sleep.for(.milliseconds(5))
        }
    }

    /// Does what a dead supervisor did not: kills the command, releases the network, records
    /// the exit (128 + the signal that ended it when this process sent one, else 255, as
    /// Docker reports an exit it did not see) — or removes the container, if it was to be
    /// removed on exit. Returns the record as it was left.
    @discardableResult
    static func reapOrphan(_ record: ContainerRecord, manager: NetworkManager, signal: Int32 = 0) throws(BerthError) -> ContainerRecord {
        var code: Int32 = signal == 0 ? 255 : 128 + signal
        if let process = record.process, try process.signal(SIGKILL) {
            _ = process.waitForExit(timeout: .seconds(10))
            code = 128 + SIGKILL
        }
        let oomKilled = wasOOMKilled(id: record.id, manager: manager)
        try release(record, manager: manager)
        let now = StateClock.now()
        var left = record
        try manager.containerStore().write { tx throws(BerthError) in
            guard try tx.container(id: record.id) != nil else { return }
            try tx.markExited(id: record.id, exitCode: code, finished: now, oomKilled: oomKilled)
            try tx.setSupervisor(id: record.id, nil)
        }
        left.status = .exited
        left.process = nil
        left.supervisor = nil
        left.exitCode = code
        left.oomKilled = oomKilled
        left.finished = now
        if record.options?.autoRemove == true {
            try manager.containerStore().write { tx throws(BerthError) in _ = try tx.deleteContainer(id: record.id) }
            ContainerLog.remove(state: manager.store.directory, id: record.id)
        }
        return left
    }
}

extension Container {
    /// A supervisor gives up a container it holds without a run to record (a start that
    /// failed, a restart that did not happen): exited, as it last ended, unsupervised.
    static func unsupervise(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) {
        try release(record, manager: manager)
        try manager.containerStore().write { tx throws(BerthError) in
            guard try tx.container(id: record.id) != nil else { return }
            try tx.setContainerStatus(id: record.id, .exited)
            try tx.setSupervisor(id: record.id, nil)
        }
    }
}
