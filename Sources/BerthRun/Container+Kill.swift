#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import BerthNamespace

extension BerthError.Operation {
    /// Sending a signal to a container's command.
    public static let kill = BerthError.Operation(rawValue: "kill")
    /// Waiting for a container's command to end.
    public static let wait = BerthError.Operation(rawValue: "wait")
}

/// `docker kill` and `docker wait` for containers started by any process.
extension Container {
    /// Sends `signal` to a running container's command (PID 1 of its namespaces), as `docker
    /// kill` does: SIGKILL unless told otherwise, no grace period. The end that follows does
    /// not restart it (Docker cancels the restart policy on a kill alike), and a container
    /// waiting to restart is kept from it. With SIGKILL it returns once the supervisor has
    /// recorded the end and released the network, as `stop` does; with any other signal,
    /// once the signal is sent — the command may handle or ignore it (PID 1 ignores what it
    /// has no handler for).
    ///
    /// A container that is not running (created, exited) is refused with `.conflict`, and
    /// nothing is marked.
    @discardableResult
    public static func kill(_ nameOrID: String, signal: Int32 = SIGKILL, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let found = try find(nameOrID, manager: manager)
        let store = try manager.containerStore()
        // The flag, set with the row read in one transaction: the supervisor reads it when
        // the command ends (or before a restart), so the end is not restarted.
        let read = try store.write { tx throws(BerthError) -> ContainerRecord? in
            guard let row = try tx.container(id: found.id), row.isSupervised else { return nil }
            switch row.status {
            case .running where row.process?.isAlive == true, .restarting: break
            default: return nil
            }
            try tx.requestStop(id: row.id)
            return row
        }
        guard let record = read else {
            throw BerthError(.conflict, "container \(found.name) is not running", object: .container(found.name), operation: .kill,
                             remedy: .listExisting(.container))
        }
        var sent: Int32 = 0
        if record.status == .running, let process = record.process, try process.signal(signal) { sent = signal }
        guard signal == SIGKILL || record.status == .restarting else { return record }
        return try awaitSupervisor(record, signal: sent, manager: manager)
    }

    /// Blocks until a container's command ends and returns its exit status, as `docker wait`:
    /// at once for a stopped container (its last status), else at its next end — one its
    /// restart policy restarts included. `interval` is how often the state is read: the
    /// waiting process is no child of the supervisor's. A container whose supervisor is gone
    /// (killed) is waited for by its command, and its end recorded here, as `stop` would.
    ///
    /// A container removed on exit (`--rm`) leaves no status once it is gone: that is
    /// `.notFound`, saying so. One that never ran and that nothing starts (a start that
    /// failed) returns at once, 0 unless a status was recorded.
    public static func wait(_ nameOrID: String, interval: Duration = .milliseconds(50), manager: NetworkManager) throws(BerthError) -> Int32 {
        let first = try find(nameOrID, manager: manager)
        let store = try manager.containerStore()
        var seen = first
        while true {
            if seen.status == .exited { return seen.exitCode ?? 0 }
            // Ended since the first read, and restarting or restarted already.
            if seen.finished != first.finished || seen.restartCount != first.restartCount { return seen.exitCode ?? 0 }
            if first.status != .restarting, seen.status == .restarting { return seen.exitCode ?? 0 }
            if !seen.isSupervised {
                if seen.status == .created { return seen.exitCode ?? 0 }
                if seen.process?.isAlive != true, let left = try reapOrphan(seen, manager: manager) { return left.exitCode ?? 255 }
            }
            Sleep.for(interval)
            guard let next = try store.read({ tx throws(BerthError) in try tx.container(id: first.id) }) else {
                throw BerthError(.notFound, "container \(first.name) was removed when it ended, with its exit status",
                                 hint: "wait for a container that is not removed on exit", object: .container(first.name), operation: .wait)
            }
            seen = next
        }
    }
}
