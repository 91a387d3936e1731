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
    /// kill` does: SIGKILL unless told otherwise, no grace period. After SIGKILL, the
    /// container's stop signal (`RunOptions.stopSignal`), SIGTERM or SIGINT (what stops a
    /// container) the end that follows is not restarted (Docker cancels the restart policy
    /// for its stop signal and SIGKILL alike), and a container waiting to restart is kept
    /// from it; another signal leaves the policy as it was. With SIGKILL it
    /// returns once the supervisor has recorded the end and released the network, as `stop`
    /// does (an orphan's, whose supervisor is gone, is recorded here); with any other signal,
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
            guard let row = try tx.container(id: found.id) else { return nil }
            switch row.status {
            // An orphan (its supervisor gone) whose command lives is running too, as `ps` shows it.
            case .running where row.process?.isAlive == true: break
            case .restarting where row.isSupervised: break
            default: return nil
            }
            // Only a signal that ends the command as `stop` does cancels the restart policy:
            // one a command handles (HUP to reload, USR1) leaves it running under its policy.
            if Self.ends(signal, stopSignal: row.options?.stopSignal) { try tx.requestStop(id: row.id) }
            return row
        }
        guard let record = read else {
            throw BerthError(.conflict, "container \(found.name) is not running", object: .container(found.name), operation: .kill,
                             remedy: .listExisting(.container))
        }
        // Between runs there is no command to take a signal it would handle: refused, as
        // Docker refuses it ("is restarting, wait until the container is running").
        if record.status == .restarting, !Self.ends(signal, stopSignal: record.options?.stopSignal) {
            throw BerthError(.conflict, "container \(record.name) is restarting: wait until it runs", object: .container(record.name),
                             operation: .kill)
        }
        var sent: Int32 = 0
        if record.status == .running, let process = record.process, try process.signal(signal) { sent = signal }
        // A restarting container has no command to signal: the flag keeps it from the next run.
        guard signal == SIGKILL || (record.status == .restarting && Self.ends(signal, stopSignal: record.options?.stopSignal)) else {
            return record
        }
        return try awaitSupervisor(record, signal: sent, manager: manager)
    }

    /// Whether `signal` is one Berth stops a container with (SIGKILL, the container's
    /// `stopSignal`, and SIGTERM and SIGINT whatever that is): its end is then not restarted,
    /// as `docker kill` cancels the policy for the stop signal and SIGKILL.
    static func ends(_ signal: Int32, stopSignal: Int32?) -> Bool {
        signal == SIGKILL || signal == SIGTERM || signal == SIGINT || signal == stopSignal
    }

    /// Blocks until a container's command ends and returns its exit status, as `docker wait`:
    /// at once for a stopped container (its last status), else at its next end — one its
    /// restart policy restarts included. `interval` is how often the state is read: the
    /// waiting process is no child of the supervisor's. A container whose supervisor is gone
    /// (killed) is waited for by its command, and its end recorded here, as `stop` would.
    /// An end is returned once the supervisor has released the container's network (as
    /// `stop` returns), so an `rm` or `start` right after finds it free.
    ///
    /// A container removed once it ended (`--rm`, `rm -f`) leaves its status an hour after
    /// its row is gone (`container_exits`), so a wait begun before its end answers it; one
    /// whose row went without a status (never ran) is `.notFound`, saying so. One that never ran
    /// and that nothing starts (a start that failed), or one whose supervisor died while it
    /// waited to restart, returns at once: its last recorded status, 0 when none.
    public static func wait(_ nameOrID: String, interval: Duration = .milliseconds(50), manager: NetworkManager) throws(BerthError) -> Int32 {
        let first = try find(nameOrID, manager: manager)
        let store = try manager.containerStore()
        var seen = first
        // An exited container whose supervisor still releases its network is not yet free for
        // `rm` or `start` (they refuse it as running, "still stopping"): `wait c && rm c` must
        // work, as with Docker, so its release is waited for too, as `stop` does (up to 10 s
        // from when the end was first seen).
        var releaseDeadline: Duration?
        var ended: Int32?
        while true {
            if seen.status == .exited {
                let deadline = releaseDeadline ?? MonotonicClock.now + .seconds(10)
                releaseDeadline = deadline
                if !seen.isSupervised || MonotonicClock.now >= deadline { return seen.exitCode ?? 0 }
                ended = seen.exitCode ?? 0
            } else if let ended {
                return ended                               // started again since its end was seen
            } else {
                // Ended since the first read, and restarting or restarted already: another end
                // time or count, or another process (a restart within the second of the last end).
                if seen.finished != first.finished || seen.restartCount != first.restartCount { return seen.exitCode ?? 0 }
                if let was = first.process, let now = seen.process, was != now { return seen.exitCode ?? 0 }
                if first.status != .restarting, seen.status == .restarting { return seen.exitCode ?? 0 }
                if !seen.isSupervised {
                    // Nothing starts it: a start that failed, or a supervisor gone while it waited
                    // to restart (its last end is recorded; gc finishes it).
                    if seen.status == .created || seen.status == .restarting { return seen.exitCode ?? 0 }
                    if seen.process?.isAlive != true, let left = try reapOrphan(seen, manager: manager) { return left.exitCode ?? 255 }
                }
            }
            Sleep.for(interval)
            let (row, removedExit) = try store.read { tx throws(BerthError) in (try tx.container(id: first.id), try tx.removedExit(id: first.id)) }
            guard let next = row else {
                // Removed once it ended (--rm, or rm after its end): its status is kept an hour.
                if let removedExit { return removedExit }
                throw BerthError(.notFound, "container \(first.name) was removed before its end was seen", object: .container(first.name), operation: .wait)
            }
            seen = next
        }
    }
}
