public import BerthCore
public import BerthNamespace

/// What an attach asks for: which namespace joins which network, and how.
public struct AttachOptions: Sendable, Hashable {
    /// The network to join.
    public var network: String
    /// The namespace to attach: by name, path or pid, or one the caller holds open.
    ///
    /// The path it opens (an open namespace's own `path`) is recorded, for `gc`, `check`
    /// and `detach` to find the namespace again from any process, later: it must name the
    /// namespace for as long as the container runs. A name under `/run/netns` and
    /// `/proc/PID/ns/net` of the container's process do; a path that names it only for one
    /// process or while one descriptor or thread lives — `/proc/self/…`,
    /// `/proc/thread-self/…`, `/proc/PID/fd/N` (`NetworkNamespace.createAnonymous()`'s),
    /// another thread's `/proc/PID/task/TID/ns/net` — is refused (`invalidArgument`,
    /// parameter "namespace"): `gc` would otherwise find a running container's namespace
    /// gone and take its endpoint away.
    public var namespace: NamespaceReference
    /// The endpoint id; generated (64 hex digits) when nil.
    public var id: String?
    /// A static address inside the network's subnet; the lowest free one when nil.
    public var address: IPv4Address?
    /// A static IPv6 address inside a dual-stack network's IPv6 subnet; the lowest free one
    /// when nil. Refused on an IPv4-only network.
    public var ipv6Address: IPv6Address?
    /// The interface's MAC; derived from the address (02:42:…) when nil, as Docker does.
    public var mac: MACAddress?
    /// The interface name inside the namespace.
    public var interfaceName: InterfaceName
    /// Ports to publish on the host, as `docker run -p` takes them.
    public var ports: [PortSpec]
    /// The endpoint's name on the network's resolver (a container name); unique on the network.
    public var name: String?
    /// More names for the endpoint (`--alias`, the CNI `aliases` capability).
    public var aliases: [String]
    /// Routes to install on the interface inside the namespace beside the default routes
    /// (a CNI IPAM plugin's), in the same netlink batch as its addresses. Not recorded: they
    /// go with the interface, and `verify`/`reconcile` do not know them.
    public var routes: [Route]

    /// A route inside the namespace: to `destination` via `gateway`, or on the link when nil.
    public struct Route: Sendable, Hashable {
        /// The prefix the route leads to.
        public var destination: CIDR
        /// The next hop, reached through the interface; nil for a route on the link (the
        /// destination's hosts are on the interface's own segment).
        public var gateway: IPAddress?
        /// A route to `destination` via `gateway`, or on the link when `gateway` is nil.
        public init(destination: CIDR, gateway: IPAddress? = nil) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    /// Refuses aliases on a network without a resolver (DNS off, as on the default network),
    /// where they would never resolve: Docker refuses network aliases on its default bridge
    /// alike. `berth attach` passes it as `attachDescribed`'s `checkNetwork`; berth-cni does
    /// not, since podman sends a container's short id and name as aliases to every network.
    public func checkAliasesServed(by network: NetworkRecord) throws(BerthError) {
        guard !network.dns else { return }
        try Self.refuseAliases(aliases, onNetworkWithoutDNS: network.name)
    }

    /// The refusal of `aliases` (none: nothing) on `network`, whose DNS is off, naming
    /// `parameter` as the one to leave out.
    public static func refuseAliases(_ aliases: [String], onNetworkWithoutDNS network: String, parameter: String = "alias") throws(BerthError) {
        guard !aliases.isEmpty else { return }
        let names = aliases.joined(separator: ", ")
        throw .invalid("network \(network) has DNS off, so the alias\(aliases.count == 1 ? "" : "es") \(names) would never resolve",
                       hint: "give no alias, or use a network with DNS on", parameter: parameter, object: .network(network))
    }

    /// Options for an attach; `interfaceName` nil is `eth0`, and repeated aliases (compared
    /// without case) are kept once. Throws only if `eth0` were not a valid name; the rest is
    /// checked by the attach.
    public init(network: String, namespace: NamespaceReference, id: String? = nil, address: IPv4Address? = nil,
                mac: MACAddress? = nil, interfaceName: InterfaceName? = nil, ports: [PortSpec] = [],
                ipv6Address: IPv6Address? = nil, name: String? = nil, aliases: [String] = [], routes: [Route] = []) throws(BerthError) {
        self.ipv6Address = ipv6Address
        self.routes = routes
        self.ports = ports
        self.name = name
        // Repeated aliases are one alias.
        var seen: Set<String> = []
        self.aliases = aliases.filter { seen.insert($0.lowercased()).inserted }
        self.network = network
        self.namespace = namespace
        self.id = id
        self.address = address
        self.mac = mac
        if let interfaceName { self.interfaceName = interfaceName } else { self.interfaceName = try InterfaceName("eth0") }
    }

    /// The longest endpoint id: its tag (`berth-endpoint ID @INSTANCE`) must fit the
    /// 127 bytes of an nftables comment on its published ports.
    public static let maxIDLength = FirewallLayout.maxEndpointIDLength

    /// Checks an endpoint id: 1–102 bytes of letters, digits, '_', '.', '-', '+' and ','.
    /// That is runc's container id rule (`^[\w+-\.]+$`, whose `+-\.` is the range `+,-.`),
    /// so every container runc runs can be attached by its id through the OCI hook; CNI
    /// container ids and 64 hex digits fit too. None of these bytes means anything where an
    /// id goes: the host veth's name is a hash of it, its tag (`berth-endpoint ID
    /// @INSTANCE`, a link alias and nftables comments) is read back up to " @", and state
    /// and CLI output hold it as a value.
    public static func validate(id: String) throws(BerthError) {
        let ok = !id.isEmpty && id.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ",")
        }
        guard ok else {
            throw .invalid("invalid endpoint id \"\(id)\"", hint: "use 1 to \(maxIDLength) letters, digits, '_', '.', '-', '+' or ','", parameter: "id")
        }
        guard id.utf8.count <= maxIDLength else {
            throw .invalid("endpoint id \"\(id.prefix(16))…\" is \(id.utf8.count) bytes, over the limit of \(maxIDLength): its tag must fit the 127-byte comment of an nftables element",
                           hint: "use an id of at most \(maxIDLength) bytes", parameter: "id")
        }
    }
}
