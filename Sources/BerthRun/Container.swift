#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import BerthNamespace
import BerthNetlink

/// Containers: a process in its own namespaces, wired to a network before its command runs,
/// recorded in Berth's state while it lives.
///
/// ```swift
/// let manager = try NetworkManager()
/// let web = try Container.run(RunOptions(process: ContainerSpec(command: ["httpd", "-f"], rootfs: "/srv/rootfs"),
///                                        ports: [try PortSpec(parsing: "8080:80")]), manager: manager)
/// let status = try web.wait()     // or web.stop(timeout: .seconds(10))
/// ```
///
/// The process that calls `run` is the container's supervisor: it must call `wait()` (or
/// `stop`), which reaps the command and then detaches its endpoint and removes its record.
/// `Supervisor` does that in the foreground, or in a detached process of its own.
/// If the supervisor dies first, the container is unsupervised — no one would reap it,
/// report its exit or release its address and ports — so `removeOrphans` kills it and
/// cleans up (Docker keeps such a container alive through containerd-shim; Berth's
/// supervisor *is* that shim).
public enum Container {
    /// Starts a container and returns once its command runs: namespaces made, network
    /// attached (ports published), `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`
    /// written into the rootfs, then the command released.
    ///
    /// The process runs under `options.process.confinement` (Docker's capabilities and
    /// seccomp profile by default). `options.limits` must be empty for now: see `RunOptions.limits`.
    ///
    /// Each step that fails undoes the ones before it: a taken name, a port conflict or a
    /// missing command leaves no process, endpoint or record behind.
    public static func run(_ options: RunOptions, manager: NetworkManager) throws(BerthError) -> RunningContainer {
        try options.validate()
        // A container's cgroup is not made here yet: a limit is refused, never ignored.
        guard options.limits.isEmpty else {
            throw BerthError(.unsupported, "resource limits are not applied to a container that Container.run starts yet",
                             hint: "make the cgroup with CgroupManager and start the process with ContainerProcess.spawn(_:cgroup:)",
                             operation: .run, parameter: "limits")
        }
        let id = RecordID.generate()
        let name = options.name ?? defaultName(id: id)
        let supervisor = try ProcessIdentity.current()
        let store = try manager.containerStore()
        // Checked before anything starts: a missing network is a usage error, not a rollback.
        if case .bridge(let network) = options.network { try ensureNetwork(network, manager: manager) }
        let spec = options.spec(id: id)

        let process = try ContainerProcess.spawn(spec)
        guard let identity = ProcessIdentity.of(pid: process.pid) else {
            process.abort()
            throw BerthError(.internalError, "container process \(process.pid) vanished while held before exec")
        }
        var record = ContainerRecord(
            id: id, name: name, endpointID: options.network.isBridge ? id : nil, network: options.network.description,
            pid: identity.pid, startTime: identity.startTime, supervisorPID: supervisor.pid, supervisorStartTime: supervisor.startTime,
            command: spec.command, hostname: spec.hostname ?? defaultHostname(id: id), rootfs: spec.rootfs,
            status: .created, created: StateClock.now())
        do {
            try store.write { tx throws(BerthError) in try tx.insertContainer(record) }
        } catch {
            process.abort()
            throw error
        }

        var endpoint: EndpointRecord?
        do {
            switch options.network {
            case .bridge(let network):
                endpoint = try manager.attach(AttachOptions(network: network, namespace: .pid(process.pid), id: id,
                                                            address: options.address, ports: options.ports))
            case .none:
                // What attach does for lo, without an interface: a socket needs lo up to
                // reach 127.0.0.1 inside.
                try RouteNetlink(namespace: process.networkNamespace()).apply { changes throws(BerthError) in
                    try changes.setUp(.index(1))
                }
            case .host:
                break
            }
            if let rootfs = spec.rootfs {
                try ContainerFiles.writeHostname(rootfs: rootfs, hostname: record.hostname)
                try ContainerFiles.writeHosts(rootfs: rootfs, hostname: record.hostname, addresses: endpoint.map { [.v4($0.address)] } ?? [])
                try ContainerFiles.writeResolvConf(rootfs: rootfs)
            }
            try process.start()
            try store.write { tx throws(BerthError) in try tx.setContainerStatus(id: id, .running) }
            record.status = .running
        } catch {
            // Never started, or started and then unrecordable: it must not outlive the failure.
            process.abort()
            _ = try? process.signal(SIGKILL)
            _ = try? process.wait()
            try? cleanUp(record, manager: manager)
            throw error
        }
        return RunningContainer(record: record, endpoint: endpoint, process: process, manager: manager)
    }

    /// `run` with a manager over the state in `stateDirectory` (else `BERTH_STATE_DIR`, else
    /// /var/lib/berth), working in the caller's network namespace.
    public static func run(_ options: RunOptions, stateDirectory: String? = nil) throws(BerthError) -> RunningContainer {
        try run(options, manager: NetworkManager(stateDirectory: stateDirectory))
    }

    // MARK: - Containers of other processes

    /// Every recorded container, oldest first.
    public static func list(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        try manager.containerStore().read { tx throws(BerthError) in try tx.containers() }
    }

    /// The container with this name (or unique id prefix).
    public static func find(_ nameOrID: String, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        try manager.containerStore().read { tx throws(BerthError) in try tx.container(matching: nameOrID) }
    }

    /// Stops a container started by any process: SIGTERM, then SIGKILL after `timeout` (the
    /// command is PID 1 of its namespace, which ignores SIGTERM unless it handles it). Returns
    /// once its supervisor has cleaned up — or, if the supervisor is gone, once this call has.
    @discardableResult
    public static func stop(_ nameOrID: String, timeout: Duration = .seconds(10), manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        let record = try find(nameOrID, manager: manager)
        let process = ProcessIdentity(pid: record.pid, startTime: record.startTime)
        if try process.signal(SIGTERM), !process.waitForExit(timeout: timeout) {
            try process.signal(SIGKILL)
            guard process.waitForExit(timeout: .seconds(10)) else {
                throw BerthError(.system, "container \(record.name) (process \(record.pid)) did not end after SIGKILL",
                                 hint: "is it stuck in the kernel (state D in /proc/\(record.pid)/stat)?", object: .container(record.name), operation: .stop)
            }
        }
        // The supervisor reaps the command, then detaches and removes the record.
        let supervisor = ProcessIdentity(pid: record.supervisorPID, startTime: record.supervisorStartTime)
        if !supervisor.waitForExit(timeout: .seconds(10)) {
            let gone = try manager.containerStore().read { tx throws(BerthError) in try tx.container(id: record.id) == nil }
            guard gone else {
                throw BerthError(.system, "the supervisor of container \(record.name) (process \(record.supervisorPID)) did not clean up",
                                 object: .container(record.name), operation: .stop, remedy: .collectGarbage)
            }
        }
        try cleanUp(record, manager: manager)
        return record
    }

    /// Runs `command` inside a running container's namespaces (as `docker exec`) and returns it
    /// running; `wait()` on it gives its exit.
    public static func exec(_ nameOrID: String, command: [String], environment: [String] = [], workingDirectory: String? = nil,
                            stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil, privileged: Bool = false,
                            manager: NetworkManager) throws(BerthError) -> ContainerProcess {
        let record = try find(nameOrID, manager: manager)
        let target = ProcessIdentity(pid: record.pid, startTime: record.startTime)
        guard record.status == .running, target.isAlive else {
            throw BerthError(.notFound, "container \(record.name) is not running", object: .container(record.name), operation: .exec,
                             remedy: .listExisting(.container))
        }
        var namespaces = ContainerNamespaces.all
        if record.network == ContainerNetwork.host.description { namespaces.remove(.network) }
        let process = try ContainerProcess.enter(pid: record.pid, namespaces: namespaces, command: command, environment: environment,
                                                 workingDirectory: workingDirectory, stdin: stdin, stdout: stdout, stderr: stderr,
                                                 privileged: privileged)
        // The pid could have been reused between the check and the namespace files' opening.
        guard target.isAlive else {
            _ = try? process.signal(SIGKILL)
            _ = try? process.wait()
            throw BerthError(.notFound, "container \(record.name) ended while the command was entering it", object: .container(record.name), operation: .exec)
        }
        return process
    }

    /// Removes the containers whose supervisor is gone (killed, or crashed): kills the
    /// command if it still runs, detaches its endpoint and deletes its record. Returns them.
    ///
    /// Call it before `NetworkManager.gc()`; that one then finds nothing left of them.
    public static func removeOrphans(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        var removed: [ContainerRecord] = []
        for record in try list(manager: manager) {
            let supervisor = ProcessIdentity(pid: record.supervisorPID, startTime: record.supervisorStartTime)
            guard !supervisor.isAlive else { continue }
            let process = ProcessIdentity(pid: record.pid, startTime: record.startTime)
            if try process.signal(SIGKILL) { _ = process.waitForExit(timeout: .seconds(10)) }
            try cleanUp(record, manager: manager)
            removed.append(record)
        }
        return removed
    }

    // MARK: - Helpers

    /// Detaches the container's endpoint and deletes its record; both are idempotent.
    static func cleanUp(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) {
        if let endpoint = record.endpointID { try manager.detach(id: endpoint) }
        try manager.containerStore().write { tx throws(BerthError) in _ = try tx.deleteContainer(id: record.id) }
    }

    /// Makes sure the network exists: the library's `ensureNetwork(named:)`, which creates
    /// the default network on first use, like Docker's default bridge.
    static func ensureNetwork(_ name: String, manager: NetworkManager) throws(BerthError) {
        do {
            try manager.ensureNetwork(named: name)
        } catch {
            throw error.with(operation: .run)
        }
    }

    /// The default network's bridge, as Docker's is `docker0`.
    public static let defaultBridge = "berth0"

    /// `berth-` and the first 12 hex digits of the id.
    static func defaultName(id: String) -> String { "berth-" + id.prefix(12) }

    /// The first 12 hex digits of the id, as Docker's default hostname.
    static func defaultHostname(id: String) -> String { String(id.prefix(12)) }

    /// A container name: what Docker accepts (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), at most 128 bytes.
    public static func validate(name: String) throws(BerthError) {
        let fix = "use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 128 bytes"
        func isAlnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        guard let first = name.utf8.first, name.utf8.count <= 128, isAlnum(first),
              name.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw .invalid("invalid container name \"\(name)\"", hint: fix, parameter: "name")
        }
    }
}

extension ContainerNetwork {
    var isBridge: Bool { if case .bridge = self { true } else { false } }
}

extension NetworkManager {
    /// The manager's store with BerthRun's tables in place (created or migrated on first
    /// use; see `ContainerSchema`).
    func containerStore() throws(BerthError) -> StateStore {
        try store.prepare(ContainerSchema.stateExtension)
        return store
    }
}
