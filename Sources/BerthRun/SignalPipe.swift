#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import Synchronization

/// A signal turned into a readable descriptor for a relay's poll (the self-pipe pattern).
/// The handler is a C function: it can capture nothing and may call nothing that locks, so
/// the pipe's write end is published in a global of the caller's (`slot`), and the handler
/// only writes one byte there (`notify`). Used for SIGWINCH (`WindowChanges`) and SIGCONT
/// (`StopEscalation`).
enum SignalPipe {
    /// Makes a non-blocking close-on-exec pipe, publishes its write end in `slot`, installs
    /// `handler` for `signal` (SA_RESTART) and unblocks the signal on the calling thread.
    /// Nil when the pipe cannot be made (nothing is installed then).
    static func install(_ signal: Int32, slot: borrowing Atomic<Int32>,
                        handler: @convention(c) (Int32) -> Void) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        slot.store(fds[1], ordering: .sequentiallyConsistent)
        setHandler(handler, for: [signal])
        return (fds[0], fds[1])
    }

    /// Sets `handler` for each of `signals` (SA_RESTART; again, if it is set: harmless) and
    /// unblocks them on the calling thread: a mask inherited from whoever started this
    /// process (a test harness, a service manager) would hold them back from the handler.
    static func setHandler(_ handler: @convention(c) (Int32) -> Void, for signals: [Int32]) {
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// A handler's whole work: one byte to the pipe `slot` publishes, errno as it was.
    static func notify(_ slot: borrowing Atomic<Int32>) {
        let saved = errno
        let fd = slot.load(ordering: .sequentiallyConsistent)
        var byte: UInt8 = 1
        if fd >= 0 { _ = write(fd, &byte, 1) }
        errno = saved
    }

    /// Puts `signal` back to its default and closes the write end `slot` published (the
    /// read end is the caller's to close).
    static func uninstall(_ signal: Int32, slot: borrowing Atomic<Int32>) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
        let write = slot.exchange(-1, ordering: .sequentiallyConsistent)
        if write >= 0 { close(write) }
    }
}
