#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif
import BerthCore

/// Named points where a debug build of a supervisor can be told to fail, to prove what it
/// leaves (BerthNetwork's `FailPoint`, for the supervision's own steps): with
/// `BERTH_FAILPOINT=supervise.finish` the supervisor fails once the command has ended and
/// been reaped, before its end is recorded. `BERTH_FAILPOINT=run.start:hold` stops a start
/// right before it releases the command, creating the file `BERTH_FAILPOINT_REACHED` names and
/// going on once the test removes it (at most a minute; at once on a SIGINT or SIGTERM to a
/// forwarding process), so a test can act on the container
/// there. Points: supervise.finish (the end reaped, not recorded), supervise.release (the
/// end recorded, the network not yet released), run.start. The supervisor of `run -d` and
/// `start` has an empty environment: only a foreground `run` sees them. Release builds
/// compile this to nothing.
enum RunFailPoint {
    static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        guard let raw = getenv("BERTH_FAILPOINT") else { return }
        let value = String(cString: raw)
        if value == name + ":hold", let marker = getenv("BERTH_FAILPOINT_REACHED") {
            close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
            // A hold is a set-up that hangs: a SIGINT or SIGTERM to a forwarding process ends it,
            // as it ends a hang of the held command (`SignalForwarding.holding`).
            for _ in 0..<6000 where access(marker, F_OK) == 0 && !SignalForwarding.isEndRequested { usleep(10_000) }
            return
        }
        guard value == name else { return }
        throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        #endif
    }
}
