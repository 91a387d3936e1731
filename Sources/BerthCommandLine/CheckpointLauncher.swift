#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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

    /// posix_spawn of this executable with `_checkpoint DIR`; false if it did not start.
    private static func spawn(directory: String) -> Bool {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID (glibc ≥ 2.26): no signal of the
        // caller's terminal or process group reaches it half-way.
        posix_spawnattr_setflags(&attributes, Int16(0x08 | 0x80))
        let executable = "/proc/self/exe"
        let words: [String] = [executable, command, directory]
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        return posix_spawn(&pid, executable, &actions, &attributes, &argv, environ) == 0
    }
}
