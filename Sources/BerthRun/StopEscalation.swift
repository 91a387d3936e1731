#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
import BerthCore
import Synchronization

/// The write end of the self-pipe SIGCONT is reported on, or -1. A global because a signal
/// handler is a C function: it can capture nothing.
private let stopWakeupPipe = Atomic<Int32>(-1)

/// The supervisor's half of `Container.stop`: the SIGKILL at the deadline `stop` recorded
/// with the stop flag (`ContainerRecord.killAt`), sent by the supervisor, which holds the
/// command's pidfd, so the stop completes as Docker's daemon completes it whatever happens
/// to its client — a `stop` killed, interrupted or timed out while it waits
/// (`timeout 5 berth stop web` against the default 10 s) no longer leaves a command that
/// ignores its stop signal running, marked stopped.
///
/// `stop` sends the supervisor SIGCONT once the deadline is recorded; its handler makes
/// `wakeup` readable, and the relay (`StdioRelay`) then reads the row again and polls with a
/// timeout until the deadline. SIGCONT because a process that does not catch it — an older
/// berth's supervisor — is not harmed by it. The row is read too when a run's relay begins,
/// so a deadline recorded while the command was being set up is not missed.
final class StopEscalation {
    /// Readable once a `stop` told this process to read its deadline.
    let wakeup: Int32
    /// The row's kill deadline when a stop is under way (ms on CLOCK_MONOTONIC), else nil.
    private let readDeadline: () -> Int64?
    private var killAt: Int64?

    /// Catches SIGCONT until `stop()`; nil if its pipe cannot be made (the `stop` process
    /// then remains the only one to send the SIGKILL, as before).
    init?(readDeadline: @escaping () -> Int64?) {
        guard let ends = SignalPipe.install(SIGCONT, slot: stopWakeupPipe, handler: { _ in SignalPipe.notify(stopWakeupPipe) }) else {
            return nil
        }
        wakeup = ends.read
        self.readDeadline = readDeadline
    }

    /// Reads the deadline again (a run begins, or `wakeup` became readable), emptying `wakeup`.
    func refresh() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while systemRead(wakeup, &bytes, bytes.count) > 0 {}
        killAt = readDeadline()
    }

    /// Between the relay's polls (a write waiting on a stalled reader): reads the deadline
    /// again only if `wakeup` says it changed, then escalates if it has passed.
    func tick(_ process: ContainerProcess) {
        var bytes = [UInt8](repeating: 0, count: 64)
        var woken = false
        while systemRead(wakeup, &bytes, bytes.count) > 0 { woken = true }
        if woken { killAt = readDeadline() }
        escalate(process)
    }

    /// How long the relay may wait before `escalate` has something to do: milliseconds, or
    /// -1 without a deadline.
    var pollTimeout: Int32 {
        guard let killAt else { return -1 }
        return Int32(clamping: max(0, killAt - MonotonicClock.milliseconds()))
    }

    /// SIGKILL to `process` once the deadline has passed; once.
    func escalate(_ process: ContainerProcess) {
        guard let killAt, MonotonicClock.milliseconds() >= killAt else { return }
        self.killAt = nil
        try? process.signal(SIGKILL)
    }

    /// SIGCONT back to its default, the pipe closed.
    func stop() {
        SignalPipe.uninstall(SIGCONT, slot: stopWakeupPipe)
        close(wakeup)
    }
}
