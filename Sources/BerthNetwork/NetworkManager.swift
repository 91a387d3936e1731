public import BerthCore
public import BerthNamespace
import BerthNetlink

/// Networks and endpoints: what `docker network create` and the network half of
/// `docker run` do, with crash-safe state.
///
/// Every operation runs under the state store's cross-process lock and in one SQLite
/// transaction; the kernel work happens inside that transaction, so a failure rolls back
/// both the kernel changes made so far and the state, and a crash leaves only objects that
/// `gc` can recognise by their names and tags.
///
/// One manager serves one host namespace (the caller's by default). It is not for
/// concurrent use within a process; separate processes are serialised by the lock.
public final class NetworkManager: @unchecked Sendable {
    /// Where networks, endpoints and leases are recorded.
    public let store: StateStore
    /// The namespace that plays the host: where bridges and host-side veths live.
    public let hostNamespace: NetworkNamespace
    /// rtnetlink in the host namespace.
    let host: RouteNetlink
    /// Berth's nftables in the host namespace, opened on first use.
    lazy var firewall = Firewall(namespace: foreignHostNamespace)

    /// The host namespace when it is not the caller's own (work there needs a namespace thread).
    let foreignHostNamespace: NetworkNamespace?

    /// Opens the state at `stateDirectory` (`BERTH_STATE_DIR` or /var/lib/berth when nil)
    /// and works in `hostNamespace` (the caller's namespace when nil).
    public init(stateDirectory: String? = nil, hostNamespace: NetworkNamespace? = nil) throws(BerthError) {
        store = try StateStore(directory: StateStore.resolveDirectory(stateDirectory))
        if let hostNamespace {
            self.hostNamespace = hostNamespace
            foreignHostNamespace = hostNamespace
            host = try RouteNetlink(namespace: hostNamespace)
        } else {
            // The caller's own namespace: its sockets need no namespace thread.
            self.hostNamespace = try NetworkNamespace.current()
            foreignHostNamespace = nil
            host = try RouteNetlink()
        }
    }
}
