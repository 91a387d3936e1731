public import BerthCore
import BerthNamespace
import BerthNetlink
public import BerthNetwork

/// The hook's whole use of `NetworkManager`, in one place: attach a container's namespace
/// by container id, detach by container id, both idempotent.
///
/// The manager works in the hook's own network namespace, which is the runtime's: the host.
/// Every namespace is opened through the manager's `HostHandle`, so the same code runs on
/// the fake kernel in tests.
public struct HookNetwork: Sendable {
    /// The manager every attach and detach goes through.
    public let manager: NetworkManager
    /// Whether the process exits once this stage is done (see `finish`).
    public let processExitsAfterwards: Bool

    /// One hook call's lock budget: no wait for Berth's state lock (or the subnet-choice
    /// lock a network create takes under it) lasts past this long from the moment the hook
    /// opens Berth's state — a deadline, not a sum of waits. An attach may write several
    /// times (the attach, the default network's creation and the attach again, a stale
    /// record's detach, a leftover's collection), and a runtime kills the hook at its entry's
    /// `timeout` (`HookFiles.timeout`, 40 s), which must leave it time to say why it failed.
    public static let totalLockWait: Duration = StateStore.defaultLockTimeout

    /// Opens Berth's state in `stateDirectory` (`BERTH_STATE_DIR`, else /var/lib/berth), no
    /// lock wait lasting past `totalLockWait` from now. In a process that exits after the stage
    /// (`processExitsAfterwards`), a due WAL checkpoint waits for `finish`.
    public init(stateDirectory: String?, processExitsAfterwards: Bool = false, totalLockWait: Duration = HookNetwork.totalLockWait) throws(BerthError) {
        let store = try StateStore(directory: StateStore.resolveDirectory(stateDirectory), totalLockWait: totalLockWait)
        manager = NetworkManager(store: store, host: try HostHandle())
        self.processExitsAfterwards = processExitsAfterwards
        if processExitsAfterwards { manager.store.deferCheckpoints() }
        Trace.mark("hook: state opened")
    }

    /// Works through an open `manager` (tests, a long-lived process); the process does not exit after the stage.
    public init(manager: NetworkManager) {
        self.manager = manager
        processExitsAfterwards = false
    }

    /// Once the stage is done, in a process that exits afterwards: starts a due WAL
    /// checkpoint in a process of its own (`berth-oci-hook _checkpoint DIR`,
    /// `CheckpointLauncher`; after an attach, `startPath`, only once the WAL is long) and
    /// leaves the state and the sockets to the exit (closing them would only cost time: the
    /// store never checkpoints on close). Otherwise nothing.
    public func finish(startPath: Bool = false) {
        guard processExitsAfterwards else { return }
        CheckpointLauncher.startIfDue(manager.store, startPath: startPath)
        _ = Unmanaged.passRetained(manager)
    }

    /// What `attach` did.
    public enum Attached: Sendable {
        /// A new endpoint.
        case created(EndpointRecord)
        /// The endpoint of an earlier `createRuntime`/`prestart` for this namespace, kept.
        case existing(EndpointRecord)
    }

    /// Attaches the namespace at `namespacePath` as endpoint `id`.
    ///
    /// The namespace is opened once, here, and handed to the library open (`.open`), so the
    /// one checked is the one wired even if the path changes meaning meanwhile (the pid
    /// exits and is reused). Idempotent: an endpoint `id` already in that namespace whose
    /// veth pair is there (`isWired`) is kept as it is (a runtime calling both
    /// `createRuntime` and `prestart`); one in another namespace that is alive and wired is
    /// another container's of the same id (another runtime root) and refused
    /// (`refuseIfHeld`); one whose namespace or pair is gone is stale (the container was
    /// restarted without its `poststop`, or a new namespace got the old one's inode
    /// number): it is detached first; one whose detach was interrupted is finished by the attach; what a killed
    /// earlier attach of `id` left behind is removed (`gc` narrowed to `id`) and the attach
    /// tried once more.
    ///
    /// `processNamespacePath` (`/proc/PID/ns/net` of the state's pid), given for a namespace
    /// the container joins by path, is the truth: the namespace at `namespacePath` must be
    /// the same one (both held open while compared), else the attach is refused, naming
    /// both — config.json's path may lead elsewhere by now. `namespacePath` stays the one
    /// recorded.
    public func attach(id: String, namespacePath: String, processNamespacePath: String? = nil,
                       request: HookAnnotations) throws(BerthError) -> Attached {
        let namespace: NetworkNamespace
        do {
            namespace = try manager.host.open(.path(namespacePath))
        } catch {
            throw error.with(object: .namespace(namespacePath), operation: .attach, parameter: "namespace")
        }
        if namespace == manager.hostNamespace {
            throw BerthError(.invalidArgument, "\(namespacePath) is the host's own network namespace", object: .namespace(namespacePath),
                             operation: .attach, parameter: "namespace")
        }
        if let processNamespacePath {
            let process: NetworkNamespace
            do {
                process = try manager.host.open(.path(processNamespacePath))
            } catch {
                throw error.with(object: .namespace(processNamespacePath), operation: .attach, parameter: "pid")
            }
            guard process.identity == namespace.identity else {
                throw BerthError(.invalidArgument, "the network namespace config.json names, \(namespacePath), is not the one the container's process is in (\(processNamespacePath)), so neither was attached",
                                 hint: "the container joins a namespace by path: that path must lead to the namespace its process joined",
                                 object: .namespace(namespacePath), operation: .attach, parameter: "linux.namespaces")
            }
        }
        let network = request.network ?? KernelNames.defaultNetwork
        let options = try AttachOptions(network: network, namespace: .open(namespace), id: id, address: request.address,
                                        mac: request.mac, ports: request.ports, ipv6Address: request.ipv6Address,
                                        name: request.name, aliases: request.aliases)
        // Aliases asked for on a network whose DNS is off would never resolve: refused, as
        // `berth attach` refuses them, inside the attach's own transaction (no read of its own).
        let checkNetwork = { (record: NetworkRecord) throws(BerthError) -> Void in
            guard !record.dns else { return }
            try AttachOptions.refuseAliases(options.aliases, onNetworkWithoutDNS: record.name, parameter: HookAnnotations.aliases)
        }
        // The common call — a new container on a network that exists — is the attach's one
        // write transaction. The attach refuses a missing network and an id in use before it
        // makes anything (and finishes an interrupted detach of `id` itself), so those cases
        // are handled after its refusal instead of by a read transaction before it (perf9:
        // that read was ~0.16 M instructions of every call). Each is handled once, then the
        // attach's own error is the one reported.
        // A record is judged (below) from a read outside the write lock, and replaced only if
        // it is still the one judged; one changed meanwhile is judged again, a bounded number of times.
        var networkEnsured = false, judgments = 0, leftoversCollected = false
        while true {
            do {
                return .created(try manager.attachDescribed(options, checkNetwork: checkNetwork).endpoint)
            } catch where !networkEnsured && ((error.code == .notFound && error.object == .network(network))
                                                || (network == KernelNames.defaultNetwork && error.isUnfinishedNetwork(network))) {
                // Makes Berth's default network on first use, or names the missing one. The
                // default network left marked by a create (a hook's or berth run's) or a
                // removal killed before it finished is finished as a removal and made anew, as
                // `berth run` does; another network is the user's, made with settings this
                // hook does not know: its refusal stands (garbage collection finishes it).
                try manager.ensureNetwork(named: network)
                networkEnsured = true
            } catch where judgments < 3 && error.code == .alreadyExists && error.object == .endpoint(id) {
                judgments += 1
                let (existing, instance) = try manager.store.read { tx throws(BerthError) in (try tx.endpoint(id: id), try tx.instance()) }
                // The endpoint of an earlier createRuntime in this namespace is kept while its
                // veth pair is there. One in another namespace is another container's while
                // that namespace lives and is wired (ids are unique only per runtime root):
                // refused. One whose namespace is gone, or whose pair is gone, is stale (a
                // restart without poststop): detached first.
                if let existing, !existing.isDetaching {
                    if existing.namespaceIdentity == namespace.identity {
                        if try isWired(existing, in: namespace, instance: instance) { return .existing(existing) }
                    } else {
                        try refuseIfHeld(existing, instance: instance)
                    }
                }
                // Another process may have replaced or detached it since it was read (a
                // createRuntime of the same id from another runtime root, a poststop): then
                // nothing is detached, and the attach is tried and judged again.
                _ = try detach(id: id, ifStill: existing)
            } catch where !leftoversCollected {
                // The attach's own error is the one to report unless leftovers were in its way.
                guard let removed = try? manager.gc(endpoint: id), !removed.isEmpty else { throw error }
                leftoversCollected = true
            }
        }
    }

    /// Refuses to replace `endpoint`, recorded in a namespace other than the one being
    /// attached, while that namespace is alive and still wired: another container with the
    /// same id holds it. Container ids are unique only within one runtime root (runc and
    /// crun, or two roots of one runtime, may each run a `web`), so a record in another
    /// namespace is a restart leftover only once its namespace is gone (`namespaceStatus`:
    /// its recorded path no longer leads to its recorded identity) or its veth pair is.
    /// A namespace whose fate cannot be told is refused too: nothing may be removed on it.
    func refuseIfHeld(_ endpoint: EndpointRecord, instance: StateInstance) throws(BerthError) {
        let held = "endpoint \(endpoint.id) is attached to network namespace \(endpoint.namespacePath)"
        switch manager.host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
        case .gone:
            return
        case .alive(let namespace):
            guard try isWired(endpoint, in: namespace, instance: instance) else { return }
            throw BerthError(.alreadyExists, "\(held), which is alive and wired: another container with id \(endpoint.id) holds it "
                             + "(container ids are unique only within one runtime root), so this container was not attached",
                             object: .endpoint(endpoint.id), operation: .attach, remedy: .chooseAnother(parameter: "id"))
        case .unknown(let error):
            throw BerthError(.alreadyExists, "\(held), and whether that namespace is still alive cannot be told: another container with id "
                             + "\(endpoint.id) may hold it, so this container was not attached",
                             object: .endpoint(endpoint.id), operation: .attach, remedy: .chooseAnother(parameter: "id"), cause: error)
        }
    }

    /// Whether `endpoint`'s veth pair is really there: its host end under the recorded
    /// name, a veth carrying this endpoint's tag, and the peer of that veth inside
    /// `namespace` under the endpoint's interface name.
    ///
    /// The namespace's identity alone does not say so: the kernel gives a new namespace the
    /// lowest free inode number, Berth's state outlives a reboot, and crun runs no
    /// `poststop` after a failed start, so a stale record can name the inode of a new
    /// namespace that has no interface of Berth's. Two link lookups, made only when `id`
    /// is recorded already (a runtime's restart or a repeated stage).
    func isWired(_ endpoint: EndpointRecord, in namespace: NetworkNamespace, instance: StateInstance) throws(BerthError) -> Bool {
        do {
            let veth = try manager.host.netlink.link(named: endpoint.hostVeth.rawValue)
            guard veth.kind == .veth, let tag = KernelNames.Tag(veth.alias), tag.kind == .endpoint, tag.owner == endpoint.id,
                  tag.belongs(to: instance) else { return false }
            let inside = try manager.host.netlink(in: namespace).link(named: endpoint.interfaceName.rawValue)
            return inside.kind == .veth && inside.peerIndex == veth.index && (veth.peerIndex == nil || veth.peerIndex == inside.index)
        } catch where error.code == .notFound {
            return false
        }
    }

    /// What `poststop` did (`poststop(id:joined:)`).
    public enum Stopped: Sendable {
        /// Endpoint `id` is gone; `leftovers` lists what a killed attach had left.
        case detached(leftovers: [String])
        /// The container joined a namespace by path that is still alive: the endpoint stays
        /// for the namespace's other users.
        case kept(EndpointRecord)
        /// The endpoint recorded under `id` is attached to a namespace that is alive and
        /// wired (or whose fate cannot be told), which is not the stopped container's:
        /// another container with the same id holds it (a `createRuntime` of this one was
        /// refused), so it stays.
        case held(EndpointRecord)
    }

    /// `poststop` of container `id`: detaches endpoint `id` from recorded state alone
    /// (`detach(id:)`) unless the endpoint must outlive this container.
    ///
    /// Never through the state's pid, which may belong to another process by now: the
    /// endpoint's recorded namespace is opened by its recorded path and checked against its
    /// recorded device and inode (`namespaceStatus`). Kept:
    /// - `joined` (config.json joins a namespace by path, a podman pod member, docker's
    ///   `--network container:NAME`): while that namespace is not known to be gone (one
    ///   that could not be opened may hold the pod's other containers) — `.kept`.
    /// - otherwise (a namespace of its own, or a bundle that cannot be read): while the
    ///   recorded namespace is alive and still wired (`isWired`), or its fate cannot be
    ///   told — `.held`. A container's own namespace is recorded as `/proc/PID/ns/net` of
    ///   its process, which has exited by `poststop`, so that path no longer leads to the
    ///   recorded namespace (even one pinned by a bind mount or a leftover process): a
    ///   recorded namespace alive there is another container's, of the same id from
    ///   another runtime root, whose `createRuntime` refused this one (runc runs the
    ///   `poststop` hooks of a container whose start failed). One alive but unwired (a
    ///   process reusing the pid in a new namespace that got the old inode number) is
    ///   stale and detached, as `attach` replaces it.
    ///
    /// An endpoint whose detach was interrupted is finished, whatever its namespace.
    ///
    /// The record is judged from a read outside the write lock, and detached only if it is
    /// still the one judged (`detach(id:ifStill:)`): one a `createRuntime` of the same id
    /// attached meanwhile is `.held`, one detached meanwhile is `.detached`.
    public func poststop(id: String, joined: Bool) throws(BerthError) -> Stopped {
        let (recorded, instance) = try manager.store.read { tx throws(BerthError) in (try tx.endpoint(id: id), try tx.instance()) }
        if let endpoint = recorded, !endpoint.isDetaching {
            switch manager.host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
            case .gone:
                break
            case .unknown:
                return joined ? .kept(endpoint) : .held(endpoint)
            case .alive(let namespace):
                if joined { return .kept(endpoint) }
                if try isWired(endpoint, in: namespace, instance: instance) { return .held(endpoint) }
            }
        }
        switch try detach(id: id, ifStill: recorded) {
        case .detached(recorded: true):
            return .detached(leftovers: [])
        case .detached(recorded: false):
            return .detached(leftovers: try collectLeftovers(id: id))
        case .changed(let found?):
            return .held(found)
        case .changed(nil):
            return .detached(leftovers: [])
        }
    }

    /// What `detach(id:ifStill:)` did.
    enum ConditionalDetach: Sendable {
        /// The record judged was still there and is detached (`recorded`), or none was
        /// judged and none is there (not `recorded`).
        case detached(recorded: Bool)
        /// The state records something else under the id now (nil: nothing): nothing changed.
        case changed(EndpointRecord?)
    }

    /// Detaches endpoint `id` only while the state still records `judged` under it (nil:
    /// nothing), checked in the detach's own write transaction. A caller judges a record
    /// stale from a read made before, outside the write lock; by the time it detaches,
    /// another process may have replaced the record (a `createRuntime` of the same id from
    /// another runtime root, which judged it stale too) or detached it, and an unconditional
    /// detach would take that other container's network.
    ///
    /// The same record is the same attachment: network, namespace path and identity, host
    /// veth, MAC and creation time (its detaching mark may have been set since).
    func detach(id: String, ifStill judged: EndpointRecord?) throws(BerthError) -> ConditionalDetach {
        var changed: EndpointRecord?? = nil
        do {
            let recorded = try manager.detach(id: id) { _, _, found throws(BerthError) in
                guard !Self.isSameAttachment(found, judged) else { return }
                changed = .some(found)
                throw BerthError(.conflict, "endpoint \(id) changed since it was read", object: .endpoint(id), operation: .detach)
            }
            return .detached(recorded: recorded)
        } catch {
            guard let changed else { throw error }
            return .changed(changed)
        }
    }

    /// Whether `a` and `b` record the same attachment (both nil: the same absence).
    static func isSameAttachment(_ a: EndpointRecord?, _ b: EndpointRecord?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.network == b.network && a.namespacePath == b.namespacePath && a.namespaceIdentity == b.namespaceIdentity
            && a.hostVeth == b.hostVeth && a.mac == b.mac && a.created == b.created
    }

    /// Detaches endpoint `id` from recorded state alone — never through a process id, which
    /// may belong to another process by now — or, when the state records no endpoint `id`,
    /// removes what a killed attach of `id` left behind (`gc` narrowed to `id`). Succeeds
    /// when there is nothing to do. Returns the leftovers removed, in words.
    @discardableResult
    public func detach(id: String) throws(BerthError) -> [String] {
        if try manager.detach(id: id) { return [] }
        return try collectLeftovers(id: id)
    }

    /// Removes what a killed attach of `id` left behind (`gc` narrowed to `id`), in words.
    private func collectLeftovers(id: String) throws(BerthError) -> [String] {
        let report = try manager.gc(endpoint: id)
        return report.endpoints.map { "endpoint \($0)" } + report.links.map { "link \($0)" } + report.firewallObjects
    }
}
