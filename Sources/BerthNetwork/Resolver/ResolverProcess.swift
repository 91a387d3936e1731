public import BerthNamespace


/// The resolver process (`berth-dns`) as recorded: a `ProcessIdentity` (pid and start
/// time), so that a pid the kernel gave to another process after the resolver died is
/// never signalled.
public typealias ResolverProcess = ProcessIdentity

/// How to start the resolver: which executable, on which state, logging where.
public struct ResolverLaunch: Sendable, Hashable {
    /// The `berth-dns` executable.
    public var executable: String
    /// The state directory it serves (`--state`).
    public var stateDirectory: String
    /// Where its stderr goes (appended).
    public var logPath: String

    /// A launch of `executable` serving `stateDirectory`, its stderr appended to `logPath`.
    public init(executable: String, stateDirectory: String, logPath: String) {
        self.executable = executable
        self.stateDirectory = stateDirectory
        self.logPath = logPath
    }

    /// The name of the resolver's executable, found beside the running one.
    public static let executableName = "berth-dns"
    /// The environment variable that names the executable instead (tests, packagers).
    public static let executableEnvironmentVariable = "BERTH_DNS"
    /// The file inside the state directory where the resolver lists the gateway addresses
    /// it cannot listen on (`ADDRESS NETWORK` per line; absent when it listens on all):
    /// `check` reports them.
    public static let unboundReportName = "berth-dns.unbound"
    /// The resolver's log inside the state directory.
    public static let logName = "berth-dns.log"

    /// The line a detached resolver prints before `ready`: `pid PID STARTTIME`, its own
    /// identity, read by itself (`ProcessIdentity.current()`). The starter records that,
    /// never what `/proc/PID` shows later: by then the resolver may have exited and the
    /// pid gone to an unrelated process, which would be recorded, or killed on a failed start.
    public static func pidLine(_ resolver: ResolverProcess) -> String {
        "pid \(resolver.pid) \(resolver.startTime)"
    }

    /// The identity on the first `pid` line of `lines` (`pidLine`), nil when none parses.
    public static func reportedIdentity(in lines: [String]) -> ResolverProcess? {
        guard let line = lines.first(where: { $0.hasPrefix("pid ") }) else { return nil }
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, let pid = Int32(fields[1]), pid > 0, let start = UInt64(fields[2]) else { return nil }
        return ResolverProcess(pid: pid, startTime: start)
    }
}
