#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthRun

/// The lean `berth` binary, installed beside `berth-cli` and `berth-lab`: what a container's
/// detached supervisor runs as.
package enum LeanBerth {
    /// The binary's file name.
    package static let name = "berth"

    /// How a detached supervisor is started: `berth _supervise` from this program's
    /// directory. The supervisor lives as long as its container, and `berth-cli` (which
    /// `berth` execs for `run`, `start`, `restart` and `gc`) would keep argument-parser and
    /// Foundation mapped for all that time; the lean binary holds neither (docs/performance.md).
    /// This program itself (`/proc/self/exe`) when the lean one is missing or cannot be run,
    /// since `berth-cli` enters the supervisor through the same hidden command.
    package static func supervisorEntry() -> Supervisor.Entry {
        if let path = FullCLI.sibling(name), access(path, X_OK) == 0 {
            return Supervisor.Entry(executable: path, arguments: [HotPath.superviseCommand])
        }
        return Supervisor.Entry(arguments: [HotPath.superviseCommand])
    }
}
