/// A container started by `Container.run`, recorded as long as its supervisor lives.
///
/// The supervisor is the process that waits for the container's command and cleans up after
/// it: the caller of `Container.run` (`Supervisor.run` in the foreground), or the detached
/// process `Supervisor.start` launches. A pid together with its start time (field 22 of
/// `/proc/PID/stat`, in clock ticks since boot) names one process for good: a pid the kernel
/// hands to someone else later comes with another start time.
public struct ContainerRecord: Sendable, Hashable {
    /// Where the container is in its life.
    public enum Status: String, Sendable, Hashable {
        /// Its process exists, held before exec while its network is wired.
        case created
        /// Its command runs.
        case running
    }

    /// 64 hex digits; also the id of its endpoint, when it has one.
    public var id: String
    /// Unique among containers.
    public var name: String
    /// The endpoint attaching it to its network; nil with the `none` or `host` network.
    public var endpointID: String?
    /// The network's name, or `none` / `host`.
    public var network: String
    /// The command's process, as the host's pid namespace sees it.
    public var pid: Int32
    /// Its start time, to tell it from a later process with the same pid.
    public var startTime: UInt64
    /// The process that waits for the command and cleans up.
    public var supervisorPID: Int32
    public var supervisorStartTime: UInt64
    /// The command and its arguments.
    public var command: [String]
    public var hostname: String
    /// The root filesystem, or nil when the container sees the host's files.
    public var rootfs: String?
    public var status: Status
    /// When it was created, in seconds since the Unix epoch.
    public var created: Int64

    public init(id: String, name: String, endpointID: String?, network: String, pid: Int32, startTime: UInt64,
                supervisorPID: Int32, supervisorStartTime: UInt64, command: [String], hostname: String, rootfs: String?,
                status: Status, created: Int64) {
        self.id = id
        self.name = name
        self.endpointID = endpointID
        self.network = network
        self.pid = pid
        self.startTime = startTime
        self.supervisorPID = supervisorPID
        self.supervisorStartTime = supervisorStartTime
        self.command = command
        self.hostname = hostname
        self.rootfs = rootfs
        self.status = status
        self.created = created
    }
}
