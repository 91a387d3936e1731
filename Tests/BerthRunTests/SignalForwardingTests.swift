#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import BerthRun
import Testing

/// Which end of a run ends a supervision (no signal is sent: the rule alone).
@Suite("SignalForwarding's end rule")
struct SignalForwardingTests {
    private func mask(_ signals: Int32...) -> UInt64 { signals.reduce(0) { $0 | 1 << UInt64($1) } }

    @Test("a SIGINT or SIGTERM since the run began ends it however the command ended; another signal only if the command died of it")
    func rule() {
        // Asked to end: whatever came after, and however the command ended.
        #expect(SignalForwarding.ends(.exited(1), endRequested: true, caught: mask(SIGTERM, SIGUSR1)))
        #expect(SignalForwarding.ends(.exited(0), endRequested: true, caught: 0))
        // A QUIT the command survived is no reason to keep it from restarting.
        #expect(!SignalForwarding.ends(.exited(1), endRequested: false, caught: mask(SIGQUIT)))
        #expect(!SignalForwarding.ends(.signaled(SIGSEGV), endRequested: false, caught: mask(SIGQUIT, SIGHUP)))
        // Died of a signal passed on: the caller's doing.
        #expect(SignalForwarding.ends(.signaled(SIGHUP), endRequested: false, caught: mask(SIGHUP)))
        #expect(SignalForwarding.ends(.signaled(SIGUSR1), endRequested: false, caught: mask(SIGTERM, SIGUSR1)))
        // Died of a signal no one passed on (sent inside the container): restarts as any crash.
        #expect(!SignalForwarding.ends(.signaled(SIGKILL), endRequested: false, caught: 0))
        // Under --init the command's death by a signal passed on is the init's exit 128+N;
        // without one an exit 129 is the command's own.
        #expect(SignalForwarding.ends(.exited(128 + SIGHUP), endRequested: false, caught: mask(SIGHUP), throughInit: true))
        #expect(!SignalForwarding.ends(.exited(128 + SIGHUP), endRequested: false, caught: mask(SIGHUP)))
        #expect(!SignalForwarding.ends(.exited(128 + SIGQUIT), endRequested: false, caught: mask(SIGHUP), throughInit: true))
        #expect(!SignalForwarding.ends(.exited(1), endRequested: false, caught: mask(SIGHUP), throughInit: true))
    }
}
