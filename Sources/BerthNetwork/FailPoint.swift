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
/// its veth step; `BERTH_FAILPOINT=attach.veth:hang` makes it stop there for a minute, so a
/// test can SIGKILL it mid-way. Release builds compile this to nothing.
///
/// Unit tests arm the same points on a `HostHandle` (`failPoints`), which works in every
/// build and touches no process-wide environment.
///
/// Points: network.bridge, network.address, network.firewall, attach.state, attach.veth,
/// attach.configure, attach.publish.
enum FailPoint {
    static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        guard let raw = getenv("BERTH_FAILPOINT") else { return }
        let value = String(cString: raw)
        if value == name {
            throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        }
        if value == name + ":hang" {
            sleep(60)
        }
        #endif
    }
}
