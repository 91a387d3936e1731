#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif
import BerthCore
import BerthNamespace
import BerthNetlink

/// Named points where a debug build can be told to fail, to prove that every step of an
/// operation rolls back. `BERTH_FAILPOINT=attach.veth` makes the attach fail right after
/// its veth step; `BERTH_FAILPOINT=attach.veth:hang` makes it stop there for a minute, so a
/// test can SIGKILL it mid-way (creating the file `BERTH_FAILPOINT_REACHED` names, if set,
/// once it is there); `BERTH_FAILPOINT=attach.publish:lost` makes it fail there the way a
/// step whose netlink answers were lost fails (outcome unknown: what it asked for may be done),
/// so what an operation keeps for such a failure can be seen against a real kernel.
/// Release builds compile this to nothing.
///
/// Unit tests arm the same points on a `HostHandle` (`failPoints`), which works in every
/// build and touches no process-wide environment.
///
/// Points: network.bridge, network.address, network.firewall (a create's, each after its
/// step, the network committed marked as creating); network.rm.firewall, network.rm.bridge
/// (a removal's, each after its step, the network committed marked as removing; the bridge
/// step is the bridge's deletion, or the gateway's from an adopted one), network.rm.forget
/// (the record deleted, not yet committed); attach.state (the record
/// inserted, not yet committed), attach.veth, attach.configure, attach.publish (each after
/// the lease was committed, marked); state.commit (an attach's, a publish's or a network create's, right
/// before its final COMMIT, inside the scope that undoes its kernel work); and a detach's, each after its step: detach.mark (the
/// endpoint marked as detaching, committed), detach.unpublish (its elements removed),
/// detach.unplug (its veth pair down, off the bridge, renamed), detach.delete (the pair's
/// deletion handed off), detach.forget (the record deleted, not yet committed); prune.mark
/// (a prune's endpoints marked as detaching, committed, before any is torn down); and a
/// publication's: publish.elements (after its elements' batch, which makes Berth's table
/// with its loopback guard if none was there, before its host link's `route_localnet`),
/// publish.conntrack (after its elements and their conntrack cleanup, before its commit:
/// the rollback takes the elements back).
enum FailPoint {
    static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        guard let raw = getenv("BERTH_FAILPOINT") else { return }
        let value = String(cString: raw)
        if value == name {
            throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        }
        if value == name + ":lost" {
            throw NetlinkError(errno: Errno(105), operation: "fail point \(name) reached (BERTH_FAILPOINT)", outcomeUnknown: true).berthError
        }
        if value == name + ":hang" {
            // Tells a test that waits to kill the process that it is there now.
            if let marker = getenv("BERTH_FAILPOINT_REACHED") {
                close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
            }
            sleep(60)
        }
        #endif
    }
}
