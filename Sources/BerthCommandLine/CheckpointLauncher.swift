#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthNamespace
import BerthNetwork

/// The WAL checkpoint of a `berth attach` or `detach`, run by a process of its own.
///
/// A command's process exits right after its commit, and one commit in about four fills
/// the WAL past the checkpoint threshold (Sources/CSQLite/shim.h): the checkpoint's two
/// fdatasyncs (≈ 1–8 ms on this machine's disk) would hold the runtime that waits for the
/// command. So the command defers it (`StateStore.deferCheckpoints`) and, when one is due,
/// starts `berth _checkpoint DIR` — the same binary, in a new session, with stdin, stdout
/// and stderr on /dev/null so that a runtime reading the command's output is not held —
/// and exits without waiting for it; init (or the nearest subreaper) reaps it. A fresh
/// process rather than a fork: SQLite's unix VFS keeps per-process records of its locks and
/// of the `-shm` mapping that a forked child would inherit without the locks.
enum CheckpointLauncher {
    /// The hidden command that runs the checkpoint.
    static let command = "_checkpoint"

    /// Starts the checkpoint if `store` has one due; when it cannot be started, runs it here.
    static func startIfDue(_ store: StateStore) {
        guard store.checkpointIsDue else { return }
        if !spawn(directory: store.directory) { try? store.checkpoint() }
    }

    /// This executable with `_checkpoint DIR`, its stdio on /dev/null; false if it did not start.
    private static func spawn(directory: String) -> Bool {
        if case .success = DetachedSpawn.start(["/proc/self/exe", command, directory]) { return true }
        return false
    }
}
