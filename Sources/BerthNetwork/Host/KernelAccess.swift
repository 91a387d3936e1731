public import BerthCore
public import BerthNamespace
public import BerthNetlink
public import BerthNFTables

/// How a `HostHandle` reaches the kernel: netlink sockets and nftables inside a namespace,
/// namespace files, sysctls, and the process table (to name who holds a socket).
///
/// `SystemKernel` is the machine's kernel. Tests hand in a fake that models the kernel
/// (links, addresses, routes, several namespaces, sockets, sysctls) so that the policy
/// code above runs unchanged and without privilege.
///
/// Wherever a namespace is optional, nil means the caller's own: a socket opened there
/// needs no namespace thread.
///
/// A `HostHandle` uses its kernel from any thread: an implementation is safe for
/// concurrent use.
public protocol KernelAccess: AnyObject, Sendable {
    /// Opens the namespace `reference` names; `.notFound` when there is none.
    func openNamespace(_ reference: NamespaceReference) throws(BerthError) -> NetworkNamespace

    /// A netlink transport on `bus` inside `namespace`.
    func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace?) throws(BerthError) -> any NetlinkTransport

    /// A netlink transport on `bus` inside `namespace`, opened after `sysctls` are written
    /// there (an attach sets its new interface's IPv6 keys before the link goes up).
    func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace, writing sysctls: [SysctlWrite]) throws(BerthError) -> any NetlinkTransport

    /// The nftables of `namespace`: a `KernelBackend`, or a `FakeBackend` in tests.
    func nftables(in namespace: NetworkNamespace?) throws(BerthError) -> any NFTablesBackend

    /// Reads a per-namespace sysctl, such as `net/ipv4/ip_local_port_range`.
    func sysctl(_ key: String, in namespace: NetworkNamespace?) throws(BerthError) -> String

    /// Writes a per-namespace sysctl only if its value differs; returns whether it wrote.
    func setSysctl(_ key: String, to value: String, in namespace: NetworkNamespace?) throws(BerthError) -> Bool

    /// Who holds the socket `inode` ("process nginx (pid 42)"), or nil; used only to word
    /// an error, so it may be slow.
    func socketOwner(inode: UInt32) -> String?

    /// Deletes the link called `name` in `namespace` without waiting for the kernel to
    /// finish: deleting a veth waits out RCU grace periods (12–23 ms) that nobody needs to
    /// wait for once the link is unplugged. `SystemKernel` hands the deletion to a detached
    /// process; a link that outlives it (a crash) keeps its name and tag for `gc`.
    func deleteLinkInBackground(named name: InterfaceName, in namespace: NetworkNamespace?) throws(BerthError)

    /// Whether `process` still runs: its pid exists with the same start time.
    func isRunning(_ process: ResolverProcess) -> Bool

    /// Sends `signal` to `process` if it is still the same process; returns whether it was.
    func signal(_ process: ResolverProcess, _ signal: Int32) -> Bool

    /// Starts the resolver detached (its own session, stdio to its log) inside `namespace`,
    /// and returns once it reported that it listens.
    func startResolver(_ launch: ResolverLaunch, in namespace: NetworkNamespace?) throws(BerthError) -> ResolverProcess

    /// The resolver that serves `stateDirectory`, found without the state's record: the
    /// live holder of its lock (`ResolverLock`), or nil. What a resolver whose starter was
    /// killed before its COMMIT is found by.
    func resolverHolding(stateDirectory: String) -> ResolverProcess?

    /// Which boot of the machine this is (`/proc/sys/kernel/random/boot_id`, a UUID the kernel
    /// draws at each boot), or nil when it cannot be read. Every kernel object Berth makes
    /// belongs to one boot; the state records which (`StateStore` forgets the endpoints and
    /// publications of an earlier one). Cheap after the first call.
    func bootID() -> String?

    /// Takes the subnet-choice lock of `namespace` (`SubnetChoiceLock`), shared by every
    /// process on the machine, waiting at most `wait.limit`; `.conflict` when it is not let
    /// go, worded by `SubnetChoiceLock.timedOut`.
    func lockSubnetChoice(in namespace: NetworkNamespace, wait: LockWait) throws(BerthError) -> SubnetChoiceLock
}

extension KernelAccess {
    /// A netlink transport on `bus` inside `namespace`, after writing `sysctls` there. The
    /// system kernel does both from one namespace thread; this default writes them one by
    /// one first (the fakes: same outcome, nothing to save).
    public func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace, writing sysctls: [SysctlWrite]) throws(BerthError) -> any NetlinkTransport {
        for write in sysctls {
            do {
                _ = try setSysctl(write.key, to: write.value, in: namespace)
            } catch where error.code == .notFound && write.skipIfMissing {}
        }
        return try transport(bus, in: namespace)
    }

    /// Deletes the link and waits: for kernels that have no cheaper way.
    public func deleteLinkInBackground(named name: InterfaceName, in namespace: NetworkNamespace?) throws(BerthError) {
        let netlink = RouteNetlink(transport: try transport(.route, in: namespace), namespace: namespace)
        do {
            try netlink.deleteLink(.name(name))
        } catch where error.code == .notFound {}
    }
}
