#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif
import BerthCore

/// Named points where a debug build of `up` can be told to fail or hang, to prove that a
/// failure rolls back and that `down` and garbage collection clean up after a SIGKILL:
/// `BERTH_FAILPOINT=lab.links` fails right after the links are made,
/// `BERTH_FAILPOINT=lab.links:hang` stops there for a minute. Release builds compile this
/// to nothing.
///
/// Points, in the order `up` reaches them: lab.state (intent recorded, nothing made),
/// lab.networks (declared networks created), lab.nodes, lab.links, lab.configure,
/// lab.sysctls, lab.routes, lab.attach (endpoints attached), lab.run (containers started);
/// and lab.rollback, as a failed `up` starts going back. Several points are separated by
/// commas (`lab.routes,lab.rollback`: the rollback of a failed up fails too).
public enum LabFailPoint {
    public static func check(_ name: String) throws(BerthError) {
        #if DEBUG
        guard let raw = getenv("BERTH_FAILPOINT") else { return }
        let values = String(cString: raw).split(separator: ",").map(String.init)
        if values.contains(name) {
            throw BerthError(.internalError, "fail point \(name) reached (BERTH_FAILPOINT)")
        }
        if values.contains(name + ":hang") {
            // Said on stderr so a test knows the point is reached before it kills the process.
            let line = Array("fail point \(name): hanging\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            sleep(60)
        }
        #endif
    }
}
