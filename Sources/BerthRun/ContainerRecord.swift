public import BerthNamespace

/// A container as Berth's state records it, from creation until it is removed — running or
/// not, as `docker ps -a` lists them.
///
/// While it runs, a supervisor waits for its command and cleans up after it: the caller of
/// `Container.run` (`Supervisor.run` in the foreground), or the detached process
/// `Supervisor.start` launches. A pid together with its start time (field 22 of
/// `/proc/PID/stat`, in clock ticks since boot) names one process for good: a pid the kernel
/// hands to someone else later comes with another start time.
///
/// A container that is not running holds no network resources: its endpoint, address and
/// published ports are released when its command ends and taken again when it starts.
public struct ContainerRecord: Sendable, Hashable {
    /// Where the container is in its life.
    public enum Status: String, Sendable, Hashable {
        /// Its process is being set up (held before exec while its network is wired), or it
        /// was never started.
        case created
        /// Its command runs.
        case running
        /// Its command ended and its supervisor waits to start it again (restart policy).
        case restarting
        /// Its command ended; it stays, stopped, until removed or started again.
        case exited
    }

    /// 64 hex digits; also the id of its endpoint, when it has one.
    public var id: String
    /// Unique among containers until the container is removed.
    public var name: String
    /// The endpoint attaching it to its network while it runs; nil with the `none` or `host`
    /// network. (Its id; the endpoint itself exists only while the command runs.)
    public var endpointID: String?
    /// The network's name, or `none` / `host`.
    public var network: String
    /// The command's process while it runs, as the host's pid namespace sees it.
    public var process: ProcessIdentity?
    /// The process that supervises it while it runs (or waits to restart it).
    public var supervisor: ProcessIdentity?
    /// The command and its arguments.
    public var command: [String]
    /// The container's hostname (its UTS namespace's).
    public var hostname: String
    /// The root filesystem, or nil when the container sees the host's files.
    public var rootfs: String?
    /// Where it is in its life.
    public var status: Status
    /// When it was created, last started and last ended, in seconds since the Unix epoch.
    public var created: Int64
    /// When its command last started, in seconds since the Unix epoch; nil if never.
    public var started: Int64?
    /// When its command last ended, in seconds since the Unix epoch; nil if it has not.
    public var finished: Int64?
    /// The status its command last ended with (128 + N for signal N), while not running.
    public var exitCode: Int32?
    /// Whether the OOM killer ended a process of its last run (Docker's `OOMKilled`): its
    /// cgroup's memory limit was reached. Such a command usually exited 137 (SIGKILL).
    public var oomKilled: Bool
    /// How many times its supervisor restarted it since it was last started.
    public var restartCount: Int
    /// A stop or removal was asked for: its supervisor restarts it no more.
    public var stopRequested: Bool
    /// The stop asked for is a restart's (`Container.stop(restarting:)`): the end it causes
    /// keeps a container to be removed on exit, for the start that follows. Cleared by that start.
    public var restartRequested: Bool
    /// When the stop under way escalates to SIGKILL, in milliseconds on CLOCK_MONOTONIC
    /// (`MonotonicClock.milliseconds()`): its supervisor sends it then, whether or not the
    /// `stop` that asked for it still waits. Nil when no stop is under way or it sends none.
    public var killAt: Int64?
    /// The options it was created with, for starting it again (nil for a container recorded
    /// by an older berth, which cannot be started again).
    public var options: RunOptions?

    /// A record from its fields; times are seconds since the Unix epoch.
    public init(id: String, name: String, endpointID: String?, network: String, process: ProcessIdentity?, supervisor: ProcessIdentity?,
                command: [String], hostname: String, rootfs: String?, status: Status, created: Int64, started: Int64? = nil,
                finished: Int64? = nil, exitCode: Int32? = nil, restartCount: Int = 0, stopRequested: Bool = false, options: RunOptions? = nil,
                oomKilled: Bool = false, restartRequested: Bool = false, killAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.endpointID = endpointID
        self.network = network
        self.process = process
        self.supervisor = supervisor
        self.command = command
        self.hostname = hostname
        self.rootfs = rootfs
        self.status = status
        self.created = created
        self.started = started
        self.finished = finished
        self.exitCode = exitCode
        self.restartCount = restartCount
        self.stopRequested = stopRequested
        self.options = options
        self.oomKilled = oomKilled
        self.restartRequested = restartRequested
        self.killAt = killAt
    }

    /// What `docker ps` calls the image: the root filesystem, or `host` for the host's files.
    public var image: String { rootfs ?? "host" }

    /// Whether its supervisor still lives. A container with a status other than `exited` whose
    /// supervisor is gone is orphaned: nothing reaps its command or releases its resources
    /// until `Container.removeOrphans` (or a stop, start or removal of it) does.
    public var isSupervised: Bool { supervisor?.isAlive ?? false }

    /// Running, set up or waiting to restart, and supervised.
    public var isActive: Bool { status != .exited && isSupervised }
}
