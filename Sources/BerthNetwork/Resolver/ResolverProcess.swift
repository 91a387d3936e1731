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
    /// The resolver's log inside the state directory.
    public static let logName = "berth-dns.log"
}
