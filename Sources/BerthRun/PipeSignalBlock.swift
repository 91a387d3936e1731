#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps SIGPIPE from killing the process while the calling thread relays a container's
/// output to a reader that may go away (`berth run … | head -1`): the signal is blocked for
/// this thread only, so such a write fails with EPIPE instead, and one raised meanwhile is
/// taken off before the thread's mask is restored.
///
/// Why not `signal(SIGPIPE, SIG_IGN)` and the old action back afterwards: that is
/// process-wide, so two threads doing it at once race — one restores the default while the
/// other still writes to a closed pipe, and the whole process dies (seen with parallel tests
/// in one process). A blocked signal is the thread's own. Children are unaffected: the
/// container's spawn resets every disposition and unblocks every signal.
struct PipeSignalBlock {
    private var saved = sigset_t()
    /// Whether SIGPIPE was blocked, or already pending, before: then it is not ours to take.
    private let leaveAlone: Bool

    init() {
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, &saved)
        var pending = sigset_t()
        sigpending(&pending)
        leaveAlone = sigismember(&saved, SIGPIPE) == 1 || sigismember(&pending, SIGPIPE) == 1
    }

    /// Takes a SIGPIPE raised by this thread's writes off the thread, then unblocks it as it
    /// was. Call once, on the thread that made the block.
    func restore() {
        if !leaveAlone {
            var pipe = sigset_t()
            sigemptyset(&pipe)
            sigaddset(&pipe, SIGPIPE)
            var now = timespec(tv_sec: 0, tv_nsec: 0)
            // Returns at once: SIGPIPE if one is pending, else -1 (EAGAIN); EINTR: again.
            while sigtimedwait(&pipe, nil, &now) < 0 && errno == EINTR {}
        }
        var saved = self.saved
        pthread_sigmask(SIG_SETMASK, &saved, nil)
    }
}
