public import BerthCore
public import BerthNamespace
public import BerthNetlink
public import BerthNFTables
internal import CBerthShim
import Synchronization

/// One host namespace and everything Berth opens in it: rtnetlink, nftables, conntrack and
/// sock_diag, plus the way to reach container namespaces (open a reference, open rtnetlink
/// inside one) and the namespace's sysctls — vishvananda/netlink's `Handle`, for a host.
///
/// Policy code (`NetworkManager`) is handed one and never opens a socket itself. The
/// handle opens what it owns through a `KernelAccess`: the machine's kernel
/// (`SystemKernel`, the default), or a fake kernel in tests, which is how attach, detach,
/// publishing, gc, check and reconcile are unit-tested without privilege.
///
/// nftables, conntrack and sock_diag are opened on first use, so an attach without
/// published ports opens only rtnetlink. Safe for concurrent use: what it opens on first use
/// is behind a lock (opened once), and the sockets it holds serve one request at a time.
public final class HostHandle: Sendable {
    /// The host namespace: where bridges, host-side veths and Berth's nftables live.
    public let namespace: NetworkNamespace
    /// What the handle opens sockets and namespaces through.
    public let kernel: any KernelAccess
    /// rtnetlink in the host namespace.
    public let netlink: RouteNetlink
    /// `namespace` when it is not the caller's own; nil when it is, so that sockets are
    /// opened directly rather than from a namespace thread.
    public let socketNamespace: NetworkNamespace?

    /// Fail points armed on this handle, by name (see `FailPoint`): tests arm them to prove
    /// that each step of an operation rolls back.
    package var failPoints: Set<String> {
        get { owned.withLock { $0.failPoints } }
        set { owned.withLock { $0.failPoints = newValue } }
    }

    /// What the handle opens on first use, and its other mutable state, behind one lock.
    private struct Owned {
        var nftables: (any NFTablesBackend)?
        var conntrack: Conntrack?
        var socketDiagnostics: SocketDiagnostics?
        /// Whether a child already keeps the nftables socket past this process's exit.
        var lingering = false
        var failPoints: Set<String> = []
        /// `/proc/1/ns/net`'s identity once read: nil before, `.some(nil)` when unreadable.
        var initialNamespace: NamespaceIdentity??
    }
    private let owned = Mutex(Owned())

    /// A handle on `namespace` through `kernel`. `isCurrent` says that `namespace` is the
    /// caller's own, so its sockets need no namespace thread.
    public init(kernel: any KernelAccess, namespace: NetworkNamespace, isCurrent: Bool = false) throws(BerthError) {
        self.kernel = kernel
        self.namespace = namespace
        socketNamespace = isCurrent ? nil : namespace
        netlink = RouteNetlink(transport: try kernel.transport(.route, in: socketNamespace), namespace: socketNamespace)
    }

    /// A handle on the machine's kernel in `namespace` (the caller's own when nil).
    public convenience init(namespace: NetworkNamespace? = nil) throws(BerthError) {
        if let namespace {
            try self.init(kernel: SystemKernel(), namespace: namespace)
        } else {
            try self.init(kernel: SystemKernel(), namespace: NetworkNamespace.current(), isCurrent: true)
        }
    }

    // MARK: - What the handle owns, opened on first use

    /// nftables in the host namespace.
    public var nftables: any NFTablesBackend {
        get throws(BerthError) {
            try owned.withLock { (owned: inout Owned) throws(BerthError) -> any NFTablesBackend in
                if let backend = owned.nftables { return backend }
                let backend = try kernel.nftables(in: socketNamespace)
                owned.nftables = backend
                return backend
            }
        }
    }

    /// The host namespace's connection tracking table.
    public var conntrack: Conntrack {
        get throws(BerthError) {
            try owned.withLock { (owned: inout Owned) throws(BerthError) -> Conntrack in
                if let conntrack = owned.conntrack { return conntrack }
                let conntrack = Conntrack(transport: try kernel.transport(.netfilter, in: socketNamespace), namespace: socketNamespace)
                owned.conntrack = conntrack
                return conntrack
            }
        }
    }

    /// The host namespace's bound sockets, through sock_diag.
    public var socketDiagnostics: SocketDiagnostics {
        get throws(BerthError) {
            try owned.withLock { (owned: inout Owned) throws(BerthError) -> SocketDiagnostics in
                if let diagnostics = owned.socketDiagnostics { return diagnostics }
                let diagnostics = SocketDiagnostics(transport: try kernel.transport(.socketDiagnostics, in: socketNamespace))
                owned.socketDiagnostics = diagnostics
                return diagnostics
            }
        }
    }

    // MARK: - Other namespaces

    /// Opens the namespace `reference` names.
    public func open(_ reference: NamespaceReference) throws(BerthError) -> NetworkNamespace {
        try kernel.openNamespace(reference)
    }

    /// What became of the namespace recorded at `path` with `identity`: alive (the path
    /// opens, to the same namespace), gone, or unknown. Only an answer that proves it gone
    /// is `.gone`: the path does not exist (or its process ended), it is not a network
    /// namespace, or it leads to another namespace (a name may since lead to another one).
    /// Any other failure to open it — no permission (another process's `/proc/PID/ns/net`
    /// takes CAP_SYS_PTRACE), too many open files, no memory — is `.unknown`, on which
    /// nothing may be removed: the container may well run.
    public func namespaceStatus(path: String, identity: NamespaceIdentity) -> NamespaceStatus {
        let namespace: NetworkNamespace
        do {
            namespace = try kernel.openNamespace(.path(path))
        } catch {
            if NamespaceStatus.provesGone(error) { return .gone }
            return .unknown(error)
        }
        return namespace.identity == identity ? .alive(namespace) : .gone
    }

    /// Why `namespace` must never be wired as a container's, in words, or nil: it is this
    /// handle's host namespace, the machine's initial one (`/proc/1/ns/net`, init's; not
    /// compared when it cannot be read, as under a ptrace restriction), or the calling
    /// thread's own (looked at only when that is not the host namespace already). A
    /// process fenced in a namespace of its own (or a library caller naming another host
    /// namespace) would otherwise give the machine's interfaces a veth, an address and a
    /// default route. Opened through the kernel access, so a fake kernel answers.
    public func reservedRole(of namespace: NetworkNamespace) -> String? {
        if namespace == self.namespace { return "the host's own network namespace" }
        if let initial = initialNamespace, namespace.identity == initial {
            return "the machine's initial network namespace (that of process 1)"
        }
        if socketNamespace != nil, let own = try? kernel.openNamespace(.path("/proc/thread-self/ns/net")), own == namespace {
            return "the calling process's own network namespace"
        }
        return nil
    }

    /// `/proc/1/ns/net`'s identity, read once per handle; nil when it cannot be read.
    private var initialNamespace: NamespaceIdentity? {
        owned.withLock { owned in
            if let read = owned.initialNamespace { return read }
            let identity = (try? kernel.openNamespace(.path("/proc/1/ns/net")))?.identity
            owned.initialNamespace = .some(identity)
            return identity
        }
    }

    /// rtnetlink inside another namespace, for work there (a container's interface).
    public func netlink(in namespace: NetworkNamespace) throws(BerthError) -> RouteNetlink {
        RouteNetlink(transport: try kernel.transport(.route, in: namespace), namespace: namespace)
    }

    /// rtnetlink inside another namespace, opened after writing `sysctls` there (on the
    /// same namespace thread with the system kernel).
    public func netlink(in namespace: NetworkNamespace, writing sysctls: [SysctlWrite]) throws(BerthError) -> RouteNetlink {
        guard !sysctls.isEmpty else { return try netlink(in: namespace) }
        return RouteNetlink(transport: try kernel.transport(.route, in: namespace, writing: sysctls), namespace: namespace)
    }

    // MARK: - The host namespace's sysctls and processes

    /// Reads a sysctl of the host namespace.
    public func sysctl(_ key: String) throws(BerthError) -> String {
        try kernel.sysctl(key, in: socketNamespace)
    }

    /// Writes a sysctl of the host namespace if it differs; returns whether it wrote. Like
    /// `sysctl`, from the calling thread when the namespace is the caller's own.
    @discardableResult
    public func setSysctl(_ key: String, to value: String) throws(BerthError) -> Bool {
        try kernel.setSysctl(key, to: value, in: socketNamespace)
    }

    /// Takes the host namespace's subnet-choice lock (`SubnetChoiceLock`), waiting at most
    /// `wait.limit` for another process to let go.
    public func lockSubnetChoice(_ wait: LockWait) throws(BerthError) -> SubnetChoiceLock {
        try kernel.lockSubnetChoice(in: namespace, wait: wait)
    }

    /// Which boot of the machine this is (`KernelAccess.bootID`), or nil when unknown.
    public var bootID: String? { kernel.bootID() }

    /// Who holds the host socket `inode`, for error messages.
    public func socketOwner(inode: UInt32) -> String? {
        kernel.socketOwner(inode: inode)
    }

    /// Deletes a link of the host namespace without waiting for the kernel to finish (see
    /// `KernelAccess.deleteLinkInBackground`).
    public func deleteLinkInBackground(named name: InterfaceName) throws(BerthError) {
        try kernel.deleteLinkInBackground(named: name, in: socketNamespace)
    }

    /// For a process that exits right after its detach (`SystemKernel.processExitsAfterDetach`):
    /// the last close of the nftables socket, after a batch that deleted elements, waits for
    /// nf_tables' deferred frees (an RCU grace period, ≈ 5–20 ms). A detached child keeps a
    /// copy of the socket and closes it after this process has exited, so that wait is
    /// nobody's (`berth_linger_past_exit`). Once per handle; nothing for a fake backend or a
    /// process that lives on.
    func lingerNFTablesPastExit() {
        owned.withLock { owned in
            guard !owned.lingering, let backend = owned.nftables as? KernelBackend, let fd = backend.descriptor else { return }
            owned.lingering = berth_linger_past_exit(fd) == 0
        }
    }

    /// Fails if the fail point `name` is armed on this handle or, in a debug build, through
    /// `BERTH_FAILPOINT`.
    func check(failPoint name: String) throws(BerthError) {
        if owned.withLock({ $0.failPoints.contains(name) }) { throw BerthError(.internalError, "fail point \(name) reached") }
        try FailPoint.check(name)
    }
}
