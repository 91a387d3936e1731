import BerthTestSupport
import Foundation
import Testing

/// A process sleeping in a network namespace, as a container's is: it keeps the namespace
/// alive when its name goes, and its `/proc/PID/ns/net` is a path to it. Ended with SIGKILL
/// (`end()`, also at deinit: a test that fails half-way leaves none behind), never SIGTERM,
/// which a process may ignore.
final class NamespaceHolder: @unchecked Sendable {
    private let process = Process()
    let pid: Int32

    /// Enters the namespace at `path` and sleeps there; as user and group `user` when given
    /// (setpriv), else as root. Returns once the process sleeps in that namespace.
    init(entering path: String, as user: Int? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        let drop = user.map { ["setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups"] } ?? []
        process.arguments = ["--net=\(path)", "--"] + drop + ["sleep", "600"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        // The pid is nsenter's (then setpriv's) until it has entered the namespace, dropped to
        // the user and exec'd sleep: until then its /proc/PID/ns/net is this process's own.
        let pid = pid
        let ready = Poll.wait { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))?.hasSuffix("/sleep") ?? false }
        if !ready { end() }
        try #require(ready, "the holder never entered \(path)")
    }

    /// The holder's namespace, by its process.
    var namespacePath: String { "/proc/\(pid)/ns/net" }

    /// Kills it (SIGKILL) and reaps it; its `/proc/PID` is gone afterwards.
    func end() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    deinit { end() }
}
