#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif
import BerthCore

/// Named points where a debug build can be told to fail, to prove that every step of an
/// operation rolls back. `BERTH_FAILPOINT=attach.veth` makes the attach fail right after
/// its veth step. Release builds compile this to nothing.
enum FailPoint {
    static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        if let value = getenv("BERTH_FAILPOINT"), String(cString: value) == name {
            throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        }
        #endif
    }
}
