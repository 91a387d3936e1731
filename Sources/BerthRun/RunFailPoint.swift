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
/// been reaped, before its end is recorded. Release builds compile this to nothing.
enum RunFailPoint {
    static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        guard let raw = getenv("BERTH_FAILPOINT"), String(cString: raw) == name else { return }
        throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        #endif
    }
}
