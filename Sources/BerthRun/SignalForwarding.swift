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
/// Set by a SIGINT or SIGTERM (the signals that tell a supervisor to end) and kept until
/// `beginRun()` takes it: a signal caught after it does not hide it.
private let endRequested = Atomic<Bool>(false)
/// The pidfd of a command held before its exec while its container is set up, or -1: a
/// SIGINT or SIGTERM that comes while there is no target kills it (`holding`).
private let heldTarget = Atomic<Int32>(-1)
/// Whether the handlers are installed (`hold` or `forward` until `stop`): only then is a
/// held command registered.
private let handling = Atomic<Bool>(false)
/// The signals caught since the run began, one bit each (`bit(of:)`).
private let caughtSignals = Atomic<UInt64>(0)
/// The signals caught while there was no target (the command was being started), for
/// `forward` to pass on once there is one. Taken with `exchange`, so each is sent once.
private let pendingSignals = Atomic<UInt64>(0)

/// Signal N as bit N; 0 for one past the mask (the forwarded signals are all below 32).
private func bit(of signal: Int32) -> UInt64 { signal > 0 && signal < 64 ? 1 << UInt64(signal) : 0 }

/// Sends each signal of `mask` to `target`, lowest first.
private func send(_ mask: UInt64, to target: Int32) {
    var signal: Int32 = 1
    while signal < 64 {
        if mask & bit(of: signal) != 0 { _ = berth_pidfd_signal(target, signal) }
        signal += 1
    }
}

/// The handler: a C function, so it reaches its state through the globals above, and calls
/// nothing that locks or allocates.
private func forwardingHandler(_ signal: Int32) {
    // The handler interrupts arbitrary code: keep its errno intact.
    let saved = errno
    if signal == SIGTERM || signal == SIGINT { endRequested.store(true, ordering: .sequentiallyConsistent) }
    _ = caughtSignals.bitwiseOr(bit(of: signal), ordering: .sequentiallyConsistent)
    var target = forwardingTarget.load(ordering: .sequentiallyConsistent)
    if target < 0 {
        // Being set up: an end asked for cuts it short. The held command dies, so whatever
        // the set-up waits for fails, and the launch is undone, instead of a hang waited out.
        let held = heldTarget.load(ordering: .sequentiallyConsistent)
        if held >= 0, signal == SIGTERM || signal == SIGINT { _ = berth_pidfd_signal(held, SIGKILL) }
        _ = pendingSignals.bitwiseOr(bit(of: signal), ordering: .sequentiallyConsistent)
        // `forward` may have set the target between the load and the store: whichever of the
        // two takes the pending signals sends them.
        target = forwardingTarget.load(ordering: .sequentiallyConsistent)
        if target >= 0 { send(pendingSignals.exchange(0, ordering: .sequentiallyConsistent), to: target) }
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
    /// What a foreground run or exec forwards. SIGTSTP too, as `docker run` does: a ^Z at a
    /// terminal without `-t` must not stop the supervisor (the command, in a session of its
    /// own, would run on unread and unreaped, and a `stop` from elsewhere would wait for an
    /// exit nobody records); the command gets it. A command that is PID 1 is stopped by it
    /// only if it handles it so (the kernel drops a PID 1's default-action signals); under
    /// `--init` the command is not PID 1, and the init passes it on: it stops the command, as
    /// under tini, until a SIGCONT.
    public static let defaultSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTSTP]

    /// Ignored while forwarding: a supervisor put in the background (`berth run … &`) keeps
    /// relaying instead of being stopped when it writes to, or reads from, its terminal.
    static let backgroundSignals: [Int32] = [SIGTTIN, SIGTTOU]

    /// Installs the handlers with no target yet: a signal is caught and kept for `forward`.
    public static func hold(_ signals: [Int32] = defaultSignals) {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
        heldTarget.store(-1, ordering: .sequentiallyConsistent)
        handling.store(true, ordering: .sequentiallyConsistent)
        _ = pendingSignals.exchange(0, ordering: .sequentiallyConsistent)
        _ = beginRun()
        install(signals)
        for signal in backgroundSignals { setDisposition(signal, SIG_IGN) }
    }

    private static func setDisposition(_ signal: Int32, _ handler: sighandler_t?) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        sigemptyset(&action.sa_mask)
        sigaction(signal, &action, nil)
    }

    /// Sends each of `signals` to `process` instead of acting on this process, and passes on
    /// those that came since `hold` or `pause` (each once, lowest first). One target per
    /// process: a later call replaces it. Keep `process` alive until `stop()`.
    public static func forward(_ signals: [Int32] = defaultSignals, to process: ContainerProcess) {
        install(signals)
        handling.store(true, ordering: .sequentiallyConsistent)
        let target = process.signalDescriptor
        forwardingTarget.store(target, ordering: .sequentiallyConsistent)
        heldTarget.store(-1, ordering: .sequentiallyConsistent)
        let pending = pendingSignals.exchange(0, ordering: .sequentiallyConsistent)
        // Passed on to this run: caught for it, whatever `beginRun` cleared.
        _ = caughtSignals.bitwiseOr(pending, ordering: .sequentiallyConsistent)
        send(pending, to: target)
    }

    /// A command is held before its exec (`pidfd`) while its container is set up: until
    /// `forward` (or `released`), a SIGINT or SIGTERM kills it, so ^C interrupts a set-up
    /// that hangs (a volume on a hung network filesystem, the held child's own set-up) and
    /// the launch fails and is undone; one that came since the run began kills it at once.
    /// Nothing while no handlers are installed (a process that does not forward).
    static func holding(_ pidfd: Int32) {
        guard handling.load(ordering: .sequentiallyConsistent) else { return }
        heldTarget.store(pidfd, ordering: .sequentiallyConsistent)
        if isEndRequested { _ = berth_pidfd_signal(pidfd, SIGKILL) }
    }

    /// The command of `pidfd` is no longer held (it runs, or its descriptor is closed).
    static func released(_ pidfd: Int32) {
        _ = heldTarget.compareExchange(expected: pidfd, desired: -1, ordering: .sequentiallyConsistent)
    }

    /// Sets the handler for each of `signals` (again, if it is set: harmless) and unblocks them.
    private static func install(_ signals: [Int32]) {
        SignalPipe.setHandler(forwardingHandler, for: signals)
    }

    /// Between two runs of a supervised container: the handlers stay, nothing is forwarded
    /// (a signal waits for the next run), and `endsRun(_:)` tells the supervisor what came.
    static func pause() {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
        heldTarget.store(-1, ordering: .sequentiallyConsistent)
    }

    /// Whether a SIGINT or SIGTERM came since the run began: the supervisor is to end.
    static var isEndRequested: Bool { endRequested.load(ordering: .sequentiallyConsistent) }

    /// Whether the run that ended with `exit` ends the supervision: a SIGINT or SIGTERM came
    /// during it, or it died of another signal this process caught and passed on.
    /// `throughInit`: the container runs an init (`ContainerSpec.initProcess`), which exits
    /// 128+N when signal N ended the command, as tini does.
    static func endsRun(_ exit: ContainerExit, throughInit: Bool = false) -> Bool {
        ends(exit, endRequested: isEndRequested, caught: caughtSignals.load(ordering: .sequentiallyConsistent), throughInit: throughInit)
    }

    /// `endsRun`'s rule over given values.
    static func ends(_ exit: ContainerExit, endRequested: Bool, caught: UInt64, throughInit: Bool = false) -> Bool {
        if endRequested { return true }
        switch exit {
        case .signaled(let signal):
            return caught & bit(of: signal) != 0
        case .exited(let code) where throughInit && code > 128 && code - 128 <= ContainerSignal.highest:
            return caught & bit(of: code - 128) != 0
        case .exited:
            return false
        }
    }

    /// A new run begins: what was caught before it is forgotten (what waits to be passed on
    /// is counted when `forward` sends it). Returns whether an end was requested before it,
    /// which the caller obeys rather than start the run: taken in one step, so a SIGTERM that
    /// comes while the run is decided on is never lost.
    static func beginRun() -> Bool {
        _ = caughtSignals.exchange(0, ordering: .sequentiallyConsistent)
        return endRequested.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// Stops forwarding: the signals get their default actions back.
    public static func stop(_ signals: [Int32] = defaultSignals) {
        forwardingTarget.store(-1, ordering: .sequentiallyConsistent)
        heldTarget.store(-1, ordering: .sequentiallyConsistent)
        handling.store(false, ordering: .sequentiallyConsistent)
        _ = pendingSignals.exchange(0, ordering: .sequentiallyConsistent)
        for signal in signals + backgroundSignals { setDisposition(signal, SIG_DFL) }
    }
}
