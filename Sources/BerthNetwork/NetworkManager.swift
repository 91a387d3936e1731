public import BerthCore
public import BerthNamespace

/// Networks and endpoints: what `docker network create` and the network half of
/// `docker run` do, with crash-safe state.
///
/// Every operation runs under the state store's cross-process lock and in one SQLite
/// transaction; the kernel work happens inside that transaction, so a failure rolls back
/// both the kernel changes made so far and the state, and a crash leaves only objects that
/// `gc` can recognise by their names and tags.
///
/// One manager serves one host namespace, through the `HostHandle` it is given: it never
/// opens a socket of its own, so the same code runs against the kernel and, in tests,
/// against a fake one.
///
/// Safe for concurrent use within a process (one manager can serve a runtime's threads):
/// operations that change state run one at a time under the store's lock, which also
/// serialises separate processes; reads and kernel checks outside it (`check`, a
/// publication's verification) use the handle's sockets, each of which serves one whole
/// request at a time (`HostHandle`, `NetlinkSocket`).
///
/// Synchronous and blocking: a change may wait up to the store's `lockTimeout` for another
/// process's lock, and an attach up to 30 s for a resolver it starts to be ready. Call it
/// from a thread of the caller's own (or a dispatch queue), not from a task on Swift's
/// cooperative pool, whose few threads it would hold.
///
/// Child processes: a deletion of an endpoint's veth pair (`detach`, `gc`, `prune`) is sent
/// by a short-lived grandchild, and the first attach to a network with DNS on starts the
/// resolver (`berth-dns`, see `NetworkOptions.dns`), a grandchild that outlives the call;
/// both pass to init or to the nearest subreaper, which must reap them
/// (docs/architecture.md, "Using the library").
public final class NetworkManager: Sendable {
    /// Where networks, endpoints and leases are recorded.
    public let store: StateStore
    /// The host namespace and everything Berth opens in it.
    public let host: HostHandle

    /// The namespace that plays the host: where bridges and host-side veths live.
    public var hostNamespace: NetworkNamespace { host.namespace }
    /// The DNS resolver's executable (`berth-dns`), as given to `init`; nil to look for it
    /// when a network with DNS on first needs it: `BERTH_DNS`, else `berth-dns` beside the
    /// running executable — which, in a runtime that embeds Berth, is the runtime's own
    /// binary, so an embedding runtime names it here.
    public let resolverExecutable: String?

    /// Works on `host` and records in `store`. The store learns which boot `host`'s kernel
    /// is in, so that its first write forgets the endpoints and publications of an earlier
    /// boot (`StateStore.bind(boot:)`). `resolverExecutable` is the absolute path of
    /// `berth-dns`, which attaches to a network with DNS on start (see the property).
    public init(store: StateStore, host: HostHandle, resolverExecutable: String? = nil) {
        self.store = store
        self.host = host
        self.resolverExecutable = resolverExecutable
        store.bind(boot: host.bootID)
    }

    /// Opens the state at `stateDirectory` (`BERTH_STATE_DIR` or /var/lib/berth when nil)
    /// and the machine's kernel in `hostNamespace` (the caller's namespace when nil);
    /// `resolverExecutable` as for `init(store:host:resolverExecutable:)`.
    public convenience init(stateDirectory: String? = nil, hostNamespace: NetworkNamespace? = nil,
                            resolverExecutable: String? = nil) throws(BerthError) {
        let store = try StateStore(directory: StateStore.resolveDirectory(stateDirectory))
        self.init(store: store, host: try HostHandle(namespace: hostNamespace), resolverExecutable: resolverExecutable)
    }

    /// Berth's nftables in the host namespace (opened on first use), as `instance` changes it.
    func firewall(_ instance: StateInstance) throws(BerthError) -> Firewall {
        Firewall(backend: try host.nftables, instance: instance)
    }
}
