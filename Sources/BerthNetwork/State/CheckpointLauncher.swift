#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// The WAL checkpoint of a process that exits right after one command — `berth attach` or
/// `detach`, a `berth-cni` call, a `berth-oci-hook` stage — run by a process of its own.
///
/// Such a process exits right after its commit, and one commit in about four fills the WAL
/// past the checkpoint threshold (Sources/CSQLite/shim.h): the checkpoint's two fdatasyncs
/// (≈ 1–8 ms on this machine's disk) would hold the runtime that waits for the command. So
/// the command defers it (`StateStore.deferCheckpoints`) and, when one is due, starts its
/// own executable as `PROGRAM _checkpoint DIR` — in a new session, with stdin, stdout and
/// stderr on /dev/null so that a runtime reading the command's output through a pipe (runc
/// for its hooks, libcni for its plugins) sees it close when the command exits — and exits
/// without waiting for it; init (or the nearest subreaper) reaps it. A fresh process rather
/// than a fork: SQLite's unix VFS keeps per-process records of its locks and of the `-shm`
/// mapping that a forked child would inherit without the locks.
///
/// Not on a container's start path, while the WAL is short enough: an attach (`berth
/// attach`, CNI ADD, the hook's createRuntime or prestart) leaves a due checkpoint to the
/// next command — in the usual run of starts and stops, the stop's — unless the WAL holds
/// `startPathFrames` frames. The checkpoint's process needs a CPU for ≈ 3 ms (its start-up,
/// opening the state, copying the frames) right when the runtime goes on starting the
/// container, and on a host with two CPUs that was ≈ 4 ms more on the `runc run -d` of one
/// container in four (docs/performance.md, "The checkpoint's place"). A longer WAL costs
/// each open its index rebuild, ≈ 0.1 ms per 50 frames; the limit bounds that. A command
/// that does not defer checkpoints (`berth run`, `network create`, a lab) and commits
/// while the WAL is past the threshold runs the checkpoint itself, as it always did.
package enum CheckpointLauncher {
    /// The hidden command that runs the checkpoint. berth-cni is run without arguments and
    /// berth-oci-hook with a stage name, so `PROGRAM _checkpoint DIR` is nothing else to them.
    package static let command = "_checkpoint"

    /// The state directory of `PROGRAM _checkpoint DIR`: `arguments` without the program's
    /// name, exactly these two words; nil for anything else.
    package static func directory(_ arguments: ArraySlice<String>) -> String? {
        guard arguments.count == 2, arguments.first == command, let directory = arguments.last else { return nil }
        return directory
    }

    /// Runs the hidden command's checkpoint of `directory`; its exit status (1, with the
    /// error on stderr, when the checkpoint failed).
    package static func run(directory: String, program: String) -> Int32 {
        do {
            try StateStore.checkpoint(directory: directory)
            return 0
        } catch {
            let line = Array("\(program): checkpoint of \(directory): \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            return 1
        }
    }

    /// How many WAL frames a container's start path lets pile up before it starts the
    /// checkpoint itself: twice the threshold at which one is due (64 frames), ≈ 512 KiB of
    /// WAL. A burst of starts alone (7–9 frames each) then checkpoints every ≈ 16 starts
    /// instead of every ≈ 8, and an open rebuilds the index from ≈ 64 frames on average
    /// instead of ≈ 32 (≈ +0.08 ms); in a run of starts and stops the stops checkpoint, and
    /// a start never gets there.
    package static let startPathFrames = 128

    /// Starts the checkpoint if `store` has one due; when it cannot be started, runs it here.
    /// On a container's start path (`startPath`), only once the WAL holds `startPathFrames`.
    package static func startIfDue(_ store: StateStore, startPath: Bool = false) {
        let frames = store.walFramesDue
        guard frames > 0 else { return }
        if startPath, frames < startPathFrames {
            Trace.mark("checkpoint due, left to the next command (\(frames) frames)")
            return
        }
        // This executable with `_checkpoint DIR`, its stdio on /dev/null.
        switch DetachedSpawn.start(["/proc/self/exe", command, store.directory]) {
        case .success(let pid):
            Trace.mark("checkpoint started: pid \(pid) (\(frames) frames)")
        case .failure(let error):
            Trace.mark("checkpoint not started (\(error.description)): running it here")
            try? store.checkpoint()
        }
    }
}
