public import BerthCore
public import BerthNetlink

/// A lab: named network namespaces (nodes) joined by veth pairs (links), with addresses,
/// routes, sysctls and link impairments — what a lab file declares, as values.
///
/// Build one in code or parse a file (BerthLabFile); `validate()` checks what the parts
/// cannot check alone (a link naming a node that does not exist, an interface used twice).
/// Locations, when present, point into the file the spec came from, for error messages.
public struct LabSpec: Sendable, Hashable {
    public var name: String
    public var nodes: [NodeSpec]
    public var links: [LinkSpec]
    /// Berth networks nodes can join (not built yet; see `LabEngine.preflight`).
    public var networks: [NetworkSpec]
    /// Where the spec came from ("triangle.yaml"), for messages.
    public var source: String
    public var nameLocation: SourceLocation?

    public init(name: String, nodes: [NodeSpec] = [], links: [LinkSpec] = [], networks: [NetworkSpec] = [],
                source: String = "lab", nameLocation: SourceLocation? = nil) {
        self.name = name
        self.nodes = nodes
        self.links = links
        self.networks = networks
        self.source = source
        self.nameLocation = nameLocation
    }

    /// The node named `name`.
    public func node(_ name: String) -> NodeSpec? { nodes.first { $0.name == name } }

    /// An error at `location` in this spec's file.
    func error(_ location: SourceLocation?, _ message: String, hint: String? = nil) -> BerthError {
        .labFile(source, location, message, hint: hint)
    }
}

/// A node: a network namespace named `LAB-NODE`.
public struct NodeSpec: Sendable, Hashable {
    public var name: String
    /// `net.…` sysctls, set in the node's namespace, in file order.
    public var sysctls: [Sysctl]
    public var routes: [LabRoute]
    /// A Berth network to join (not built yet).
    public var network: String?
    /// Ports to publish from that network (not built yet).
    public var publish: [String]
    /// A `berth run` container instead of a bare namespace (not built yet).
    public var run: RunSpec?
    public var location: SourceLocation?

    public init(name: String, sysctls: [Sysctl] = [], routes: [LabRoute] = [], network: String? = nil, publish: [String] = [],
                run: RunSpec? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.sysctls = sysctls
        self.routes = routes
        self.network = network
        self.publish = publish
        self.run = run
        self.location = location
    }

    /// A sysctl key and value.
    public struct Sysctl: Sendable, Hashable {
        public var key: String
        public var value: String
        public var location: SourceLocation?
        public init(key: String, value: String, location: SourceLocation? = nil) {
            self.key = key
            self.value = value
            self.location = location
        }
    }
}

/// A `berth run` node's container (recorded; not built yet).
public struct RunSpec: Sendable, Hashable {
    public var rootfs: String
    public var command: [String]
    public var location: SourceLocation?
    public init(rootfs: String, command: [String], location: SourceLocation? = nil) {
        self.rootfs = rootfs
        self.command = command
        self.location = location
    }
}

/// A Berth network a lab declares (recorded; not built yet).
public struct NetworkSpec: Sendable, Hashable {
    public var name: String
    public var subnet: CIDR?
    public var location: SourceLocation?
    public init(name: String, subnet: CIDR? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.subnet = subnet
        self.location = location
    }
}

/// A link: a veth pair between two nodes, both ends born in their namespaces.
public struct LinkSpec: Sendable, Hashable {
    /// Exactly two.
    public var endpoints: [EndpointSpec]
    /// Both ends' MTU; the kernel's default (1500) if nil.
    public var mtu: UInt32?
    public var location: SourceLocation?

    public init(endpoints: [EndpointSpec], mtu: UInt32? = nil, location: SourceLocation? = nil) {
        self.endpoints = endpoints
        self.mtu = mtu
        self.location = location
    }

    /// The link's identity, the same from either end: its endpoints sorted, as
    /// `NODE:IFACE NODE:IFACE`. It is part of both ends' alias.
    public var key: String {
        endpoints.map(\.description).sorted().joined(separator: " ")
    }
}

/// One end of a link: an interface in a node, with its addresses, MAC and the impairment
/// its egress suffers.
public struct EndpointSpec: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var interface: InterfaceName
    public var addresses: [CIDR]
    public var mac: MACAddress?
    /// Egress impairment of this end (a link's `rate`/`netem` apply to both ends).
    public var impairment: Impairment
    public var location: SourceLocation?

    public init(node: String, interface: InterfaceName, addresses: [CIDR] = [], mac: MACAddress? = nil,
                impairment: Impairment = Impairment(), location: SourceLocation? = nil) {
        self.node = node
        self.interface = interface
        self.addresses = addresses
        self.mac = mac
        self.impairment = impairment
        self.location = location
    }

    public var description: String { "\(node):\(interface)" }
}
