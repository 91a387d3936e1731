#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace
public import BerthNetwork
public import BerthRun
import Synchronization

/// The container half of a lab: a run node's command, started as a Berth container named
/// `LAB-NODE` under a detached supervisor (`Supervisor.start`).
///
/// The container shares the node's network namespace (its network is `host`, started from
/// a thread inside the node's namespace) and has PID, mount, UTS and IPC namespaces of its
/// own: it starts once the node is wired — links, addresses, routes, sysctls and its Berth
/// network in place — and the node's tag on `lo` is in its namespace before it runs, so a
/// container of a lab is recognised from the kernel alone (`labTag(of:)`), also after a crash.
public final class LabContainers: Sendable {
    public let manager: NetworkManager
    /// How to start a supervisor; nil refuses run nodes.
    public let supervisor: Supervisor.Entry?
    /// How long `stop` waits after SIGTERM before SIGKILL.
    public let stopTimeout: Duration
    /// Supervisors this process started: its children, reaped once their container stops.
    private let children = Mutex<[String: ContainerProcess]>([:])

    public init(manager: NetworkManager, supervisor: Supervisor.Entry?, stopTimeout: Duration = .zero) {
        self.manager = manager
        self.supervisor = supervisor
        self.stopTimeout = stopTimeout
    }

    /// The container name of a node.
    public static func name(lab: String, node: String) -> String { LabNames.namespace(lab: lab, node: node) }

    /// The recorded container named `name`, or nil.
    public func container(named name: String) throws(BerthError) -> ContainerRecord? {
        try Container.list(manager: manager).first { $0.name == name }
    }

    /// Whether `record`'s command runs, under its supervisor, in `namespace`.
    public func isRunning(_ record: ContainerRecord, in namespace: NamespaceIdentity?) -> Bool {
        guard record.status == .running, let process = record.process, process.isAlive, record.supervisor?.isAlive == true,
              let inside = try? NetworkNamespace.open(pid: process.pid) else { return false }
        return inside.identity == namespace
    }

    /// The lab tag on `lo` in the network namespace of `record`'s command, if it runs.
    public func labTag(of record: ContainerRecord) -> (lab: String, node: String, state: String)? {
        guard let process = record.process, process.isAlive,
              let namespace = try? NetworkNamespace.open(pid: process.pid),
              let netlink = try? manager.host.netlink(in: namespace),
              let loopback = try? netlink.link(index: 1) else { return nil }
        return LabNames.node(fromAlias: loopback.alias)
    }

    /// Whether `record`, the container named after node `node` of lab `lab`, is the lab's:
    /// its command runs in a namespace that carries the node's tag for `stateTag`; or, its
    /// command having ended (no namespace left to read a tag from), it is what the lab would
    /// have started for the node — network `host`, the command and root filesystem of one of
    /// `runs` (the node's `run` in the lab's specs). A node without `run` has no container, so
    /// a stopped one of the user's that happens to be called `LAB-NODE` is never the lab's.
    func isLab(_ record: ContainerRecord, lab: String, node: String, stateTag: String, runs: [RunSpec]) -> Bool {
        if let tag = labTag(of: record) { return tag.lab == lab && tag.node == node && tag.state == stateTag }
        if record.process?.isAlive == true { return false }
        return record.network == "host" && runs.contains { record.command == $0.command && record.rootfs == $0.rootfs }
    }

    /// Whether a running container does what `run` asks: its command and root filesystem
    /// are recorded; environment, working directory and privilege are compared with
    /// `startedWith`, the run spec it was started from as far as the lab knows.
    static func matches(_ record: ContainerRecord, _ run: RunSpec, startedWith: RunSpec?) -> Bool {
        guard record.command == run.command, record.rootfs == run.rootfs, let startedWith else { return false }
        return startedWith.environment == run.environment && startedWith.workingDirectory == run.workingDirectory
            && startedWith.privileged == run.privileged && startedWith.command == run.command && startedWith.rootfs == run.rootfs
    }

    /// The options a node's container runs with.
    public static func options(lab: String, node: NodeSpec, run: RunSpec) -> RunOptions {
        let hostname = (try? ContainerSpec(command: ["true"], hostname: node.name).validate()) != nil ? node.name : nil
        let process = ContainerSpec(command: run.command, hostname: hostname, rootfs: run.rootfs, environment: run.environment,
                                    workingDirectory: run.workingDirectory, privileged: run.privileged)
        return RunOptions(process: process, name: name(lab: lab, node: node.name), network: .host)
    }

    /// Starts a node's container in `namespace` and returns once its command runs.
    public func start(lab: String, node: NodeSpec, run: RunSpec, in namespace: NetworkNamespace) throws(BerthError) {
        guard let supervisor else {
            throw BerthError(.unsupported, "node \(node.name) of lab \(lab) runs a container, and no supervisor program was given to start it",
                             object: .node(lab: lab, node.name), operation: .labUp)
        }
        let options = Self.options(lab: lab, node: node, run: run)
        let directory = manager.store.directory
        // The supervisor is cloned from a thread inside the node's namespace, so it and the
        // container (network `host`) live there.
        let started = try namespace.run { () throws(BerthError) -> Supervisor.Detached in
            try Supervisor.start(options, stateDirectory: directory, entry: supervisor)
        }
        children.withLock { $0[started.name] = started.supervisor }
    }

    /// Stops the container named `name` (SIGTERM, SIGKILL after `stopTimeout`), once its
    /// supervisor has released its network removes it (record and log: a stopped container
    /// otherwise stays, and its name with it), and returns; nothing if there is none.
    public func stop(named name: String) throws(BerthError) {
        guard try container(named: name) != nil else { return }
        do throws(BerthError) {
            try Container.stop(name, timeout: stopTimeout, manager: manager)
            try Container.remove(name, force: true, manager: manager)
        } catch where error.code == .notFound && error.object == .container(name) {
            // Ended on its own meanwhile.
        }
        if let child = children.withLock({ $0.removeValue(forKey: name) }) { _ = try? child.wait() }
    }
}
