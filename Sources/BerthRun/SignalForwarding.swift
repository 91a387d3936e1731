#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import Synchronization

/// The pidfd signals are forwarded to, or -1. A global because a signal handler is a C
/// function: it can capture nothing.
private let forwardingTarget = Atomic<Int32>(-1)
/// The last signal a handler caught, or 0.
private let caughtSignal = Atomic<Int32>(0)
/// A signal caught while there was no target (the command was being started), for `forward`
/// to pass on once there is one; 0 for none. Taken with `exchange`, so it is sent once.
private let pendingSignal = Atomic<Int32>(0)

/// The handler: a C function, so it reaches its state through the globals above, and calls
/// nothing that locks or allocates.
private func forwardingHandler(_ signal: Int32) {
    // The handler interrupts arbitrary code: keep its errno intact.
    let saved = errno
    caughtSignal.store(signal, ordering: .sequentiallyConsistent)
    var target = forwardingTarget.load(ordering: .sequentiallyConsistent)
    if target < 0 {
        pendingSignal.store(signal, ordering: .sequentiallyConsistent)
        // `forward` may have set the target between the load and the store: whichever of the
        // two takes the pending signal sends it.
        target = forwardingTarget.load(ordering: .sequentiallyConsistent)
        if target >= 0 {
            let pending = pendingSignal.exchange(0, ordering: .sequentiallyConsistent)
            if pending != 0 { _ = berth_pidfd_signal(target, pending) }
        }
    } else {
        _ = berth_pidfd_signal(target, signal)
    }
    errno = saved
}

/// Forwards the signals a terminal or a process manager sends to a container's supervisor
/// (SIGINT, SIGTERM, …) to the container's command, as `docker run` does, so stopping the
/// supervisor stops the container and the supervisor then exits with the command's status.
///
/// The handlers are installed (`hold`) before the command is started, so a signal that comes
/// while it starts is not this process's death: it waits, and `forward` passes it on as soon
/// as the command exists. A child never runs them: `spawn.c` blocks every signal across its
/// clone and resets all handlers in the child before unblocking.
public enum SignalForwarding {
    /// What a foreground run or exec forwards.
    public static let defaultSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// Installs the handlers with no target yet: a signal is caught and kept for `forward`.
    public static func hold(_ signals: [Int32] = defaultSignals) {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
        _ = pendingSignal.exchange(0, ordering: .sequentiallyConsistent)
        install(signals)
    }

    /// Sends each of `signals` to `process` instead of acting on this process, and passes on
    /// one that came since `hold` or `pause`. One target per process: a later call replaces
    /// it. Keep `process` alive until `stop()`.
    public static func forward(_ signals: [Int32] = defaultSignals, to process: ContainerProcess) {
        install(signals)
        let target = process.signalDescriptor
        forwardingTarget.store(target, ordering: .sequentiallyConsistent)
        let pending = pendingSignal.exchange(0, ordering: .sequentiallyConsistent)
        if pending != 0 { _ = berth_pidfd_signal(target, pending) }
    }

    /// Sets the handler for each of `signals` (again, if it is set: harmless) and unblocks them.
    private static func install(_ signals: [Int32]) {
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = forwardingHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A mask inherited from whoever started this process (a test harness, a service manager)
        // would hold the signals back from the handlers for good.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Between two runs of a supervised container: the handlers stay, nothing is forwarded,
    /// and `takeCaught()` tells the supervisor what came.
    static func pause() {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
    }

    /// The last signal caught since the previous call (0 for none).
    static func takeCaught() -> Int32 {
        caughtSignal.exchange(0, ordering: .sequentiallyConsistent)
    }

    /// Stops forwarding: the signals get their default actions back.
    public static func stop(_ signals: [Int32] = defaultSignals) {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
        _ = pendingSignal.exchange(0, ordering: .sequentiallyConsistent)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = SIG_DFL
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}
