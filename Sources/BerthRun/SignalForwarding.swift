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

/// Forwards the signals a terminal or a process manager sends to a container's supervisor
/// (SIGINT, SIGTERM, …) to the container's command, as `docker run` does, so stopping the
/// supervisor stops the container and the supervisor then exits with the command's status.
public enum SignalForwarding {
    /// What a foreground run or exec forwards.
    public static let defaultSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// Installs handlers that send each of `signals` to `process` instead of acting on this
    /// process. One target per process: a later call replaces it. Call it after the process
    /// was spawned (a child must not inherit the handlers before it resets them) and keep
    /// `process` alive until `stop()`.
    public static func forward(_ signals: [Int32] = defaultSignals, to process: ContainerProcess) {
        forwardingTarget.store(process.signalDescriptor, ordering: .sequentiallyConsistent)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                // The handler interrupts arbitrary code: keep its errno intact.
                let saved = errno
                caughtSignal.store(signal, ordering: .sequentiallyConsistent)
                let target = forwardingTarget.load(ordering: .sequentiallyConsistent)
                if target >= 0 { _ = berth_pidfd_signal(target, signal) }
                errno = saved
            }
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
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = SIG_DFL
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}
