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
/// recorded in Berth's state from creation until removal — as `docker run`, `ps -a`, `stop`,
/// `start` and `rm` know them.
///
/// ```swift
/// let manager = try NetworkManager()
/// let web = try Container.run(RunOptions(process: ContainerSpec(command: ["httpd", "-f"], rootfs: "/srv/rootfs"),
///                                        ports: [try PortSpec(parsing: "8080:80")]), manager: manager)
/// let status = try web.wait()     // or web.stop(timeout: .seconds(10))
/// try Container.remove(web.name, manager: manager)
/// ```
///
/// The process that calls `run` is the container's supervisor: it must call `wait()` (or
/// `stop`), which reaps the command, releases its endpoint, address and ports, and records
/// the exit. `Supervisor` does that in the foreground, or in a detached process of its own,
/// and also relays stdio, keeps the log and applies the restart policy. If the supervisor
/// dies first, the container is orphaned — no one would reap it, report its exit or release
/// its address and ports — so `removeOrphans` stops it and cleans up (Docker keeps such a
/// container alive through containerd-shim; Berth's supervisor *is* that shim).
///
/// A container that is not running holds nothing but its record (and log): its name stays
/// taken until it is removed.
public enum Container {
    /// Creates a container and starts it; returns once its command runs: namespaces made,
    /// network attached (ports published), `/etc/hosts`, `/etc/hostname` and
    /// `/etc/resolv.conf` written in the container's state directory and bind-mounted over
    /// the rootfs's (see `ContainerFiles`), then the command released.
    ///
    /// The process runs under `options.process.confinement` (Docker's capabilities and
    /// seccomp profile by default), in a cgroup of its own with `options.limits` (see
    /// `cgroups(manager:)`), entered before its command runs and removed when it ends.
    ///
    /// Each step that fails undoes the ones before it: a taken name, a port conflict or a
    /// missing command leaves no process, endpoint or record behind.
    ///
    /// What making the default network on first use changed for the host is in the
    /// container's `hostWarnings`, for the caller to tell its user.
    public static func run(_ options: RunOptions, manager: NetworkManager) throws(BerthError) -> RunningContainer {
        var warnings: [HostWarning] = []
        let record = try create(options, manager: manager, warnings: &warnings)
        do {
            return try launch(record, options: options, manager: manager, warnings: warnings)
        } catch {
            try? discard(record, manager: manager)
            throw error
        }
    }

    /// `run` with a manager over the state in `stateDirectory` (else `BERTH_STATE_DIR`, else
    /// /var/lib/berth), working in the caller's network namespace.
    public static func run(_ options: RunOptions, stateDirectory: String? = nil) throws(BerthError) -> RunningContainer {
        try run(options, manager: NetworkManager(stateDirectory: stateDirectory))
    }

    // MARK: - Containers of other processes

    /// Every recorded container, running or not, newest first.
    public static func list(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        try manager.containerStore().read { tx throws(BerthError) in try tx.containers() }
    }

    /// The container with this name (or unique id prefix).
    public static func find(_ nameOrID: String, manager: NetworkManager) throws(BerthError) -> ContainerRecord {
        try manager.containerStore().read { tx throws(BerthError) in try tx.container(matching: nameOrID) }
    }

    // MARK: - Steps

    /// Records a new container, status created, supervised by this process, its settings kept
    /// for later starts. The row reserves the name. Making the default network on first use
    /// adds what it changed for the host to `warnings`.
    static func create(_ options: RunOptions, manager: NetworkManager, warnings: inout [HostWarning]) throws(BerthError) -> ContainerRecord {
        try options.validate()
        // What the host cannot limit (a controller it lacks, a cpuset outside its CPUs) is
        // refused before anything exists; `launch` makes the cgroup.
        if !options.limits.isEmpty { try cgroups(manager: manager).check(options.limits) }
        // What the process would fail on, checked before anything exists (the default
        // network included): an unknown user.
        if let user = options.process.user { _ = try ContainerUser.resolve(user, root: options.process.rootfs ?? "/") }
        let id = RecordID.generate()
        let spec = options.spec(id: id)
        let record = ContainerRecord(
            id: id, name: options.name ?? defaultName(id: id), endpointID: options.network.isBridge ? id : nil,
            network: options.network.description, process: nil, supervisor: try ProcessIdentity.current(), command: spec.command,
            hostname: spec.hostname ?? defaultHostname(id: id), rootfs: spec.rootfs, status: .created, created: StateClock.now(),
            options: options)
        if case .bridge(let network) = options.network {
            // Aliases on a network without DNS would never resolve: refused when the container
            // is made, as Docker does, not at a later start of one an older berth made.
            if !options.networkAliases.isEmpty {
                let dns: Bool
                do throws(BerthError) {
                    dns = try manager.network(named: network).dns
                } catch where error.code == .notFound {
                    // The default network, made below on first use, has DNS off.
                    dns = network != ContainerNetwork.defaultName
                }
                if !dns { try AttachOptions.refuseAliases(options.networkAliases, onNetworkWithoutDNS: network, parameter: "networkAlias") }
            }
            // Checked before anything exists: a missing network is a usage error, not a rollback.
            try ensureNetwork(network, manager: manager, warnings: &warnings)
        }
        try manager.containerStore().write { tx throws(BerthError) in try tx.insertContainer(record) }
        return record
    }

    /// Starts a recorded container's command with `options` (its own settings), stdio from
    /// `io` when a supervisor relays it: spawns it held, attaches it to its network, writes
    /// its files, releases it and records it running. Any failure stops and releases what
    /// was made and leaves the record as it was. The container's `hostWarnings` are
    /// `warnings` (the create's) and what making the default network here changed.
    static func launch(_ record: ContainerRecord, options: RunOptions, io: SupervisedIO? = nil, manager: NetworkManager,
                       warnings: [HostWarning] = []) throws(BerthError) -> RunningContainer {
        var warnings = warnings
        var spec = options.spec(id: record.id)
        io?.apply(to: &spec)
        let filesDirectory = ContainerLog.directory(state: manager.store.directory, id: record.id)
        let store: StateStore
        let process: ContainerProcess
        let cgroupParent: String
        // Files of its own over /etc's: in a rootfs; on the host's files too, in its mount
        // namespace, except on the host's network, whose files the host's are.
        let ownFiles = ContainerFiles.applies(rootfs: spec.rootfs, namespaces: spec.namespaces, hostNetwork: options.network == .host)
        // Whether the container's network has DNS on: its short id is then one of its names.
        var networkHasDNS = false
        do throws(BerthError) {
            if ownFiles {
                spec.mounts += try ContainerFiles.prepare(directory: filesDirectory, volumes: spec.mounts)
            }
            if case .bridge(let network) = options.network {
                networkHasDNS = try ensureNetwork(network, manager: manager, warnings: &warnings).dns
            }
            store = try manager.containerStore()
            cgroupParent = try Self.cgroupParent(manager: manager)
            let cgroup = try makeCgroup(record, options: options, parent: cgroupParent)
            do throws(BerthError) {
                process = try ContainerProcess.spawn(spec, cgroup: cgroup)
            } catch {
                try? removeCgroup(id: record.id, manager: manager, parent: cgroupParent)
                throw error
            }
        } catch {
            // The /etc files prepared for this run (and the cgroup, removed above) go too.
            ContainerFiles.remove(directory: filesDirectory)
            throw error
        }
        io?.spawned(terminal: process.terminal)
        guard let identity = ProcessIdentity.of(pid: process.pid) else {
            process.abort()
            _ = try? process.wait()
            if io == nil, let master = process.terminal { close(master) }
            // Nothing was attached yet: the cgroup and the files are all there is.
            try? removeCgroup(id: record.id, manager: manager, parent: cgroupParent)
            ContainerFiles.remove(directory: filesDirectory)
            throw BerthError(.internalError, "container process \(process.pid) vanished while held before exec")
        }
        var endpoint: EndpointRecord?
        var running = record
        do throws(BerthError) {
            switch options.network {
            case .bridge(let network):
                do throws(BerthError) {
                    // The container's name is its name on the network's resolver, when it is
                    // a DNS name (Docker's container names may hold '.', which DNS splits).
                    endpoint = try manager.attach(AttachOptions(network: network, namespace: .pid(process.pid), id: record.id,
                                                                address: options.address, mac: options.mac, ports: options.ports,
                                                                ipv6Address: options.ipv6Address, name: EndpointNames.isValid(record.name) ? record.name : nil,
                                                                aliases: endpointAliases(options.networkAliases, id: record.id, name: record.name, dns: networkHasDNS)))
                } catch {
                    guard error.code == .conflict, error.object?.kind == .port else { throw error }
                    throw portConflict(error, container: record, manager: manager)
                }
            case .none:
                // What attach does for lo, without an interface: a socket needs lo up to
                // reach 127.0.0.1 inside.
                try RouteNetlink(namespace: process.networkNamespace()).apply { changes throws(BerthError) in
                    try changes.setUp(.index(1))
                }
            case .host:
                break
            }
            if ownFiles {
                try ContainerFiles.writeHostname(directory: filesDirectory, hostname: record.hostname)
                if options.network == .host {
                    try ContainerFiles.copyHostHosts(directory: filesDirectory)
                } else {
                    try ContainerFiles.writeHosts(directory: filesDirectory, hostname: record.hostname, addresses: ContainerFiles.hostsAddresses(of: endpoint))
                }
                // On a network with DNS on, the resolver on the gateway is the nameserver.
                let nameservers: [IPAddress]? = if let endpoint, let nameserver = try manager.store.read({ tx throws(BerthError) in
                    try tx.network(named: endpoint.network)?.nameserver
                }) { [nameserver] } else { nil }
                // No endpoint (--network none) counts as IPv4: the host's IPv4 servers, as before.
                try ContainerFiles.writeResolvConf(directory: filesDirectory, nameservers: nameservers, hostNetwork: options.network == .host,
                                                   ipv4: endpoint.map { $0.address != nil } ?? true, ipv6: endpoint?.ipv6Address != nil)
            }
            try RunFailPoint.check("run.start")
            let started = StateClock.now()
            // The stop flag is read and the command released in one transaction, which ends
            // once it has exec'd: a stop that came first keeps the command from ever running
            // (markRunning throws, the held child is killed below); one that comes after finds
            // it running, recorded, with its command exec'd to receive the signal. The state's
            // lock is held for the exec at most `execWithinLock`: an exec stuck on a hung
            // network filesystem must not stop every other berth command on this state; past
            // that, the record commits and the exec is waited for without the lock.
            // Held no more: a SIGINT or SIGTERM from here on waits for the command and is
            // passed to it. One that came before killed the held command: no start, then (a
            // killed child would pass for one that exec'd, its status pipe closed unreported).
            SignalForwarding.released(process.signalDescriptor)
            if SignalForwarding.isEndRequested {
                throw BerthError(.conflict, "its command was killed before it ran", object: .container(record.name), operation: .run)
            }
            var execd = false
            try store.write { tx throws(BerthError) in
                try tx.markRunning(id: record.id, process: identity, started: started)
                execd = try process.release(waitingAtMost: Self.execWithinLock)
            }
            if !execd { try process.awaitExec() }
            running.status = .running
            running.process = identity
            running.started = started
        } catch {
            // Never started, or started and then unrecordable: it must not outlive the failure.
            process.abort()
            _ = try? process.signal(SIGKILL)
            _ = try? process.wait()
            if io == nil, let master = process.terminal { close(master) }
            try? release(record, manager: manager, cgroupParent: cgroupParent)
            throw error
        }
        return RunningContainer(record: running, endpoint: endpoint, process: process, manager: manager, cgroupParent: cgroupParent,
                                hostWarnings: warnings)
    }

    /// How long a start holds the state's lock waiting for its command's exec (see `launch`).
    static let execWithinLock: Duration = .seconds(2)

    /// A container that never ran goes entirely: record and log.
    static func discard(_ record: ContainerRecord, manager: NetworkManager) throws(BerthError) {
        try release(record, manager: manager)
        try manager.containerStore().write { tx throws(BerthError) in _ = try tx.deleteContainer(id: record.id) }
        ContainerLog.remove(state: manager.store.directory, id: record.id)
    }

    /// Releases what a container holds while it runs: its endpoint, address and published
    /// ports, its cgroup (killing anything left in it) and its `/etc` files. Every step is
    /// taken even when one before it fails (a detach that fails must not leave processes
    /// running in the cgroup); the first failure is thrown after. Idempotent. `cgroupParent`:
    /// the state's, when the caller read it before (`removeCgroup`).
    static func release(_ record: ContainerRecord, manager: NetworkManager, cgroupParent: String? = nil) throws(BerthError) {
        var failure: BerthError?
        if let endpoint = record.endpointID {
            do throws(BerthError) { try manager.detach(id: endpoint) } catch { failure = error }
        }
        do throws(BerthError) { try removeCgroup(id: record.id, manager: manager, parent: cgroupParent) } catch { failure = failure ?? error }
        ContainerFiles.remove(directory: ContainerLog.directory(state: manager.store.directory, id: record.id))
        if let failure { throw failure }
    }

    /// A port another container holds, said with that container's name.
    private static func portConflict(_ error: BerthError, container: ContainerRecord, manager: NetworkManager) -> BerthError {
        guard let key = error.object?.name, let holder = try? holder(ofPort: key, manager: manager), holder.id != container.id else { return error }
        let isNew = container.status == .created && container.started == nil
        return BerthError(.conflict, "port \(key) is already published by container \(holder.name)", object: error.object, operation: isNew ? .run : .start,
                          parameter: "ports", remedy: isNew ? .chooseAnother(parameter: "ports") : .stop(.container(holder.name)), cause: nil)
    }

    /// The container whose endpoint publishes a port clashing with `key` (`tcp 0.0.0.0:8080`).
    package static func holder(ofPort key: String, manager: NetworkManager) throws(BerthError) -> ContainerRecord? {
        try portHolder(of: key, manager: manager)?.container
    }

    /// The endpoint publishing a port that clashes with `key` (as `PortKey` writes it, the
    /// way a refusal names the port), and the container it is the endpoint of, if any.
    package static func portHolder(of key: String, manager: NetworkManager) throws(BerthError) -> (endpoint: String, container: ContainerRecord?)? {
        guard let key = PortKey(key),
              let endpoint = try manager.endpoints().first(where: { $0.ports.contains { $0.key.clashes(with: key) } }) else { return nil }
        return (endpoint.id, try list(manager: manager).first { $0.endpointID == endpoint.id })
    }

    // MARK: - Helpers

    /// Makes sure the network exists: the library's `ensureNetwork(named:warnings:)`, which
    /// creates the default network on first use, like Docker's default bridge, and adds what
    /// that changed for the host to `warnings`.
    @discardableResult
    static func ensureNetwork(_ name: String, manager: NetworkManager, warnings: inout [HostWarning]) throws(BerthError) -> NetworkRecord {
        do {
            return try manager.ensureNetwork(named: name, warnings: &warnings)
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

    /// The aliases of the container's endpoint: its network aliases and, on a network with
    /// DNS on, its short id (the id's first 12 hex digits), which Docker and podman answer
    /// as a name of the container too (`ping 3f4e8a9b2c1d`, the default hostname). Not when
    /// the container is named so, or an alias already is: the attach refuses an alias equal
    /// to the endpoint's own name. On a network without DNS no alias is added (it would
    /// never resolve, and `networkAliases` are refused there when the container is made).
    static func endpointAliases(_ aliases: [String], id: String, name: String, dns: Bool) -> [String] {
        let short = defaultHostname(id: id).lowercased()
        guard dns, EndpointNames.isValid(short), name.lowercased() != short,
              !aliases.contains(where: { $0.lowercased() == short }) else { return aliases }
        return aliases + [short]
    }

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

extension BerthError.Operation {
    /// Starting a stopped container again.
    public static let start = BerthError.Operation(rawValue: "start")
    /// Removing a container.
    public static let remove = BerthError.Operation(rawValue: "remove")
    /// Reading a container's log.
    public static let logs = BerthError.Operation(rawValue: "logs")
}

extension NetworkManager {
    /// The manager's store with BerthRun's tables in place (created or migrated on first
    /// use; see `ContainerSchema`), their rows settled to this boot (`ContainerBoot`).
    func containerStore() throws(BerthError) -> StateStore {
        try store.prepare(ContainerSchema.stateExtension)
        try ContainerBoot.settle(self)
        return store
    }
}
