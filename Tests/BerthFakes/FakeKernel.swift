#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthNFTables

/// A kernel in memory, for policy tests without privilege: several network namespaces,
/// each with links (index, kind, master, alias, flags, veth peers in other namespaces),
/// addresses, routes, sysctls, bound sockets and nftables (`FakeBackend`).
///
/// It answers rtnetlink requests byte for byte — the same `RouteNetlink` code that talks to
/// the kernel talks to it — with the kernel's refusals (EEXIST, ENODEV, ENETUNREACH, …),
/// echoes and dumps, and keeps every request for annotated goldens. sock_diag dumps list
/// the sockets a test binds with `bind`; ctnetlink dumps list no entries. `HostHandle`
/// reaches it as its `KernelAccess`.
///
/// Namespaces are stand-ins (`NetworkNamespace(standIn:…)`) over a file descriptor of
/// /dev/null, registered here so a veth's IFLA_NET_NS_FD finds its namespace.
public final class FakeKernel: KernelAccess, @unchecked Sendable {
    /// One request the fake received.
    public struct Request {
        /// The namespace's label ("host", or the container's name).
        public var namespace: String
        public var bus: NetlinkSocket.Bus
        public var request: NetlinkRequest
    }

    /// Every request received, in order.
    public private(set) var requests: [Request] = []
    /// Every sysctl written, as "namespace: key=value", in order.
    public private(set) var sysctlWrites: [String] = []
    /// The subnet-choice lock's takes and releases, each with the request mark it happened
    /// at (see FakeKernel+SubnetChoice.swift).
    public internal(set) var subnetChoiceEvents: [(mark: Int, line: String)] = []
    /// Plays another process holding the subnet-choice lock: taking it times out.
    public var subnetChoiceHeldElsewhere = false
    /// Every link deletion handed off (`deleteLinkInBackground`), as "namespace: name".
    public private(set) var backgroundDeletions: [String] = []
    /// Holds handed-off deletions instead of running them.
    public var holdsBackgroundDeletions = false
    /// Renames links that are up, as kernels since 6.2 do; false plays an older kernel
    /// (EBUSY).
    public var renamesLinksThatAreUp = true
    /// Says which link is a veth's peer (IFLA_LINK, IFLA_LINK_NETNSID); false plays a
    /// kernel that does not, so the caller must find the peer another way.
    public var reportsPeers = true
    /// Echoes a created link when asked (NLM_F_ECHO), as kernels since 6.1 do; false plays
    /// an older one (5.15, 5.14), which only acks.
    public var echoesNewLinks = true
    private var pendingDeletions: [(UInt64, String)] = []
    /// The host namespace: lo up, nothing else until a test adds it.
    public private(set) var host: NetworkNamespace!
    /// False models a kernel booted with `ipv6.disable=1` (see FakeKernel+IPv6.swift).
    public var ipv6Available = true
    /// Whether links that come up get IPv6 link-local addresses (and lo ::1), as the kernel
    /// does. Off by default, so tests that do not look at IPv6 see only what they made.
    public var generatesLinkLocal = false
    /// The resolver processes Berth started (see FakeKernel+Resolver.swift).
    public let resolvers = FakeResolverProcesses()
    /// The boot id `bootID()` reports (nil: unreadable). Every fake kernel starts in the same
    /// boot, `FakeKernel.firstBoot`; a test plays a reboot with a new fake kernel (nothing
    /// of the old one's) in another boot.
    public var boot: String? = FakeKernel.firstBoot
    /// The boot id fake kernels start in.
    public static let firstBoot = "0f4ce000-0000-4000-8000-000000000001"

    var states: [UInt64: FakeNamespaceState] = [:]
    private var hostInode: UInt64 = 0
    private var paths: [String: UInt64] = [:]
    /// Which descriptor stands for which namespace (descriptors are reused once closed, and
    /// re-registered when they are).
    private var descriptors: [Int32: UInt64] = [:]
    private var nextInode: UInt64 = 4_026_531_840
    private var refusals: [(fragment: String, errno: Int32, remaining: Int)] = []
    private var nextInodeForSockets: UInt32 = 1000
    private var openFailures: [String: Int32] = [:]

    public init() {
        let state = makeState(label: "host", paths: ["/proc/thread-self/ns/net", "/proc/self/ns/net"])
        hostInode = state.inode
        state.links[1]?.isUp = true
        state.addresses.append(FakeAddress(index: 1, cidr: try! CIDR(parsing: "127.0.0.1/8"), label: "lo"))
        host = standIn(for: state, path: "/proc/thread-self/ns/net")
    }

    public func bootID() -> String? { boot }

    // MARK: - Namespaces

    /// Makes a namespace reachable as `/run/netns/NAME` (and, given a pid, `/proc/PID/ns/net`).
    /// Its lo starts down, as `ip netns add` leaves it, unless `loopbackUp` (a running
    /// container's).
    @discardableResult
    public func addNamespace(_ name: String, pid: Int32? = nil, loopbackUp: Bool = false) -> NetworkNamespace {
        var names = ["/run/netns/\(name)"]
        if let pid { names.append("/proc/\(pid)/ns/net") }
        let state = makeState(label: name, paths: names)
        state.links[1]?.isUp = loopbackUp
        return standIn(for: state, path: names[0])
    }

    /// Makes `path` open `namespace` too, as a second name of it (`/proc/PID/fd/N` of a
    /// process holding it open, a bind mount elsewhere).
    public func addPath(_ path: String, to namespace: NetworkNamespace) {
        paths[path] = namespace.identity.inode
    }

    /// Destroys a namespace, as when its last process exits: its links go, a veth's other
    /// end goes with its peer, and its paths no longer open.
    public func destroyNamespace(_ namespace: NetworkNamespace) {
        guard let state = states[namespace.identity.inode] else { return }
        for link in state.sortedLinks {
            if let peer = link.peer { states[peer.namespace]?.remove(index: peer.index) }
        }
        state.links = [:]
        state.isAlive = false
        paths = paths.filter { $0.value != state.inode }
    }

    /// Takes a namespace's name away while it lives on, as `ip netns del` does while a
    /// process still holds it: its paths no longer open, its links stay.
    public func unlinkNamespace(_ namespace: NetworkNamespace) {
        paths = paths.filter { $0.value != namespace.identity.inode }
    }

    /// Makes opening the namespace file at `path` fail with `errno` (EACCES: another
    /// process's /proc/PID/ns/net without CAP_SYS_PTRACE; EMFILE), as
    /// `NetworkNamespace.open(path:)` fails; nil lets it open again.
    public func failOpening(_ path: String, errno: Int32?) {
        openFailures[path] = errno
    }

    public func openNamespace(_ reference: NamespaceReference) throws(BerthError) -> NetworkNamespace {
        if case .open(let namespace) = reference {
            guard state(of: namespace) != nil else {
                throw BerthError(.notFound, "network namespace \(namespace) does not exist")
            }
            return namespace
        }
        let path = reference.path
        if let code = openFailures[path] { throw .system("open network namespace \(path)", Errno(code)) }
        guard let inode = paths[path], let state = states[inode] else {
            throw BerthError(.notFound, "network namespace \(path) does not exist")
        }
        return standIn(for: state, path: path)
    }

    private func makeState(label: String, paths names: [String]) -> FakeNamespaceState {
        nextInode += 1
        let state = FakeNamespaceState(inode: nextInode, label: label)
        states[state.inode] = state
        for name in names { paths[name] = state.inode }
        return state
    }

    private func standIn(for state: FakeNamespaceState, path: String) -> NetworkNamespace {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/null for a fake namespace")
        descriptors[fd] = state.inode
        let parts = path.split(separator: "/")
        let name = path.hasPrefix("/run/netns/") && parts.count == 3 ? String(parts[2]) : nil
        return NetworkNamespace(standIn: fd, identity: NamespaceIdentity(device: 4, inode: state.inode), path: path, name: name)
    }

    func state(of namespace: NetworkNamespace?) -> FakeNamespaceState? {
        guard let namespace else { return states[hostInode] }
        guard let state = states[namespace.identity.inode], state.isAlive else { return nil }
        return state
    }

    func state(forDescriptor fd: Int32) -> FakeNamespaceState? {
        descriptors[fd].flatMap { states[$0] }.flatMap { $0.isAlive ? $0 : nil }
    }

    private func requireState(_ namespace: NetworkNamespace?) throws(BerthError) -> FakeNamespaceState {
        guard let state = state(of: namespace) else {
            throw BerthError(.notFound, "network namespace \(namespace.map(\.description) ?? "host") does not exist")
        }
        return state
    }

    // MARK: - KernelAccess

    public func transport(_ bus: NetlinkSocket.Bus, in namespace: NetworkNamespace?) throws(BerthError) -> any NetlinkTransport {
        let state = try requireState(namespace)
        return FakeTransport(kernel: self, state: state, bus: bus)
    }

    public func nftables(in namespace: NetworkNamespace?) throws(BerthError) -> any NFTablesBackend {
        try requireState(namespace).nftables
    }

    public func sysctl(_ key: String, in namespace: NetworkNamespace?) throws(BerthError) -> String {
        let state = try requireState(namespace)
        let normalized = Self.normalize(key)
        guard let value = sysctlValue(normalized, in: state) else {
            throw BerthError(.notFound, "sysctl /proc/sys/\(normalized) does not exist")
        }
        return value
    }

    /// A sysctl's value: written, or the default of a key that exists; nil for none.
    func sysctlValue(_ normalized: String, in state: FakeNamespaceState) -> String? {
        if !ipv6Available, normalized.hasPrefix("net/ipv6/") { return nil }
        return state.sysctls[normalized] ?? linkSysctl(normalized, in: state) ?? ipv6SysctlDefault(normalized, in: state)
    }

    public func setSysctl(_ key: String, to value: String, in namespace: NetworkNamespace?) throws(BerthError) -> Bool {
        let state = try requireState(namespace)
        let normalized = Self.normalize(key)
        let current = try sysctl(normalized, in: namespace)
        guard current != value else { return false }
        state.sysctls[normalized] = value
        sysctlWrites.append("\(state.label): \(normalized)=\(value)")
        ipv6SysctlWritten(normalized, value, in: state)
        return true
    }

    public func socketOwner(inode: UInt32) -> String? {
        states.values.lazy.flatMap(\.sockets).first { $0.inode == inode }?.owner
    }

    /// Deletes the link at once, as the detached process would — or, while
    /// `holdsBackgroundDeletions`, keeps it for `runBackgroundDeletions` (the process ran)
    /// or `dropBackgroundDeletions` (it never did: a crash, a kill).
    public func deleteLinkInBackground(named name: InterfaceName, in namespace: NetworkNamespace?) throws(BerthError) {
        let state = try requireState(namespace)
        backgroundDeletions.append("\(state.label): \(name)")
        pendingDeletions.append((state.inode, name.rawValue))
        if !holdsBackgroundDeletions { runBackgroundDeletions() }
    }

    /// Runs the deletions handed off and held.
    public func runBackgroundDeletions() {
        for (inode, name) in pendingDeletions {
            guard let state = states[inode], state.isAlive, let link = state.link(named: name) else { continue }
            remove(link, from: state)
        }
        pendingDeletions = []
    }

    /// Forgets the deletions handed off and held, as if their process never ran.
    public func dropBackgroundDeletions() { pendingDeletions = [] }

    /// `net.ipv4.ip_forward` and `net/ipv4/ip_forward` are the same key.
    static func normalize(_ key: String) -> String {
        key.contains("/") ? key : key.split(separator: ".").joined(separator: "/")
    }

    /// Per-interface keys exist while the interface does (defaults: accept_ra 1, route_localnet 0, arp_notify 0).
    private func linkSysctl(_ key: String, in state: FakeNamespaceState) -> String? {
        let parts = key.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[0] == "net", parts[2] == "conf", state.link(named: parts[3]) != nil else { return nil }
        switch (parts[1], parts[4]) {
        case ("ipv6", "accept_ra"): return "1"
        case ("ipv4", "route_localnet"), ("ipv4", "arp_notify"): return "0"
        default: return nil
        }
    }

    // MARK: - Refusals

    /// Makes the kernel refuse the next `times` messages whose operation contains
    /// `fragment` ("create veth", "add address 10.88.0.2/24") with `errno`, changing nothing.
    public func refuse(_ fragment: String, errno: Int32, times: Int = 1) {
        refusals.append((fragment, errno, times))
    }

    /// The errno to answer for a message, consuming one refusal.
    func refusal(for operation: String) -> Int32? {
        guard let index = refusals.firstIndex(where: { operation.contains($0.fragment) }) else { return nil }
        let errno = refusals[index].errno
        refusals[index].remaining -= 1
        if refusals[index].remaining <= 0 { refusals.remove(at: index) }
        return errno
    }

    func record(_ request: NetlinkRequest, bus: NetlinkSocket.Bus, in state: FakeNamespaceState) {
        requests.append(Request(namespace: state.label, bus: bus, request: request))
    }

    // MARK: - Setting up and looking

    /// Adds a link the way `ip link add` would (a veth gets its peer in the same namespace,
    /// named `peerName`, with the same `mtu`); returns its index.
    @discardableResult
    public func addLink(_ name: String, kind: String, in namespace: NetworkNamespace? = nil, up: Bool = false,
                        master: String? = nil, alias: String? = nil, peerName: String? = nil, mtu: UInt32 = 1500) -> Int32 {
        guard let state = state(of: namespace) else { preconditionFailure("no namespace \(String(describing: namespace))") }
        let masterIndex = master.flatMap { state.link(named: $0)?.index }
        let index = state.insert(FakeLink(index: 0, name: name, kind: kind, mtu: mtu, mac: nil, isUp: false, master: masterIndex, alias: alias))
        state.links[index]?.mac = state.inventMAC(index)
        if up { state.links[index]?.isUp = true; linkChanged(index, wasUp: false, in: state) }
        if kind == "veth", let peerName {
            let peer = state.insert(FakeLink(index: 0, name: peerName, kind: "veth", mtu: mtu, mac: state.inventMAC(state.nextIndex), isUp: up,
                                             peer: .init(namespace: state.inode, index: index)))
            state.links[index]?.peer = .init(namespace: state.inode, index: peer)
        }
        state.refreshConnectedRoutes()
        return index
    }

    /// Adds an address to the link called `link`.
    public func addAddress(_ cidr: String, to link: String, in namespace: NetworkNamespace? = nil) throws {
        guard let state = state(of: namespace), let index = state.link(named: link)?.index else { preconditionFailure("no link \(link)") }
        let parsed = try CIDR(parsing: cidr)
        state.addresses.append(FakeAddress(index: index, cidr: parsed, broadcast: parsed.prefixLength < 31 ? parsed.lastAddress : nil, label: link))
        state.refreshConnectedRoutes()
    }

    /// Adds a route (`ip route add DEST via GATEWAY [dev DEVICE] [proto PROTO]`): static
    /// unless `proto` says otherwise (9 is a route learned from router advertisements).
    /// Without `device`, the link whose address covers the gateway.
    public func addRoute(_ destination: String, via gateway: String, device: String? = nil, proto: UInt8 = 4,
                         in namespace: NetworkNamespace? = nil) throws {
        guard let state = state(of: namespace) else { preconditionFailure("no namespace") }
        let address = try IPAddress(parsing: gateway)
        let oif = device.flatMap { state.link(named: $0)?.index } ?? state.addresses.first { $0.cidr.contains(address) }?.index
        let cidr = try CIDR(parsing: destination)
        state.routes.append(FakeRoute(family: cidr.family, destination: cidr.prefixLength == 0 ? nil : cidr.network, gateway: address,
                                      oif: oif, proto: proto))
    }

    /// Binds a socket in the namespace, as a listening process would; returns its inode.
    @discardableResult
    public func bind(_ proto: TransportProtocol, _ address: String, _ port: UInt16, owner: String? = nil,
                     in namespace: NetworkNamespace? = nil) throws -> UInt32 {
        guard let state = state(of: namespace) else { preconditionFailure("no namespace") }
        nextInodeForSockets += 1
        state.sockets.append(FakeSocket(proto: proto, address: try IPAddress(parsing: address), port: port,
                                        inode: nextInodeForSockets, owner: owner))
        return nextInodeForSockets
    }

    /// Sets a sysctl without logging it, as the machine's configuration would.
    public func presetSysctl(_ key: String, _ value: String, in namespace: NetworkNamespace? = nil) {
        state(of: namespace)?.sysctls[Self.normalize(key)] = value
    }

    /// The nftables of a namespace (the host's when nil).
    public func nftables(_ namespace: NetworkNamespace? = nil) -> FakeNFTables {
        guard let state = state(of: namespace) else { preconditionFailure("no namespace") }
        return state.nftables
    }
}
