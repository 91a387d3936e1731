internal import CBerthShim

/// The namespaces a container gets of its own. Each one left out is shared with the caller:
/// a container on the `host` network is `.all` without `.network`.
public struct ContainerNamespaces: OptionSet, Sendable, Hashable {
    /// One bit per namespace, as the static members define them (not CLONE_* flags).
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Its own network stack: only `lo` until the lead's attach adds an interface.
    public static let network = ContainerNamespaces(rawValue: 1 << 0)
    /// Its own hostname.
    public static let uts = ContainerNamespaces(rawValue: 1 << 1)
    /// Its own System V IPC and POSIX message queues.
    public static let ipc = ContainerNamespaces(rawValue: 1 << 2)
    /// Its own process ids: the command is PID 1.
    public static let pid = ContainerNamespaces(rawValue: 1 << 3)
    /// Its own mount table, private to it; required for a root filesystem.
    public static let mount = ContainerNamespaces(rawValue: 1 << 4)

    /// Everything a `docker run` container gets.
    public static let all: ContainerNamespaces = [.network, .uts, .ipc, .pid, .mount]

    /// The CLONE_NEW* flags, in the order `ContainerProcess.enter` joins them (mount last: once in the
    /// container's mount namespace, paths mean the container's files).
    var kernelTypes: [(namespace: ContainerNamespaces, flag: Int32, file: String)] {
        let table: [(ContainerNamespaces, Int32, String)] = [
            (.ipc, BERTH_CLONE_NEWIPC, "ipc"),
            (.uts, BERTH_CLONE_NEWUTS, "uts"),
            (.network, BERTH_CLONE_NEWNET, "net"),
            (.pid, BERTH_CLONE_NEWPID, "pid"),
            (.mount, BERTH_CLONE_NEWNS, "mnt"),
        ]
        return table.filter { contains($0.0) }.map { (namespace: $0.0, flag: $0.1, file: $0.2) }
    }

    var cloneFlags: Int32 { kernelTypes.reduce(0) { $0 | $1.flag } }
}
