public import BerthCore
public import BerthNetlink

/// A lab: named network namespaces (nodes) joined by veth pairs (links), with addresses,
/// routes, sysctls and link impairments; nodes may join Berth networks (publishing ports)
/// and run a container — what a lab file declares, as values.
///
/// Build one in code or parse a file (BerthLabFile); `validate()` checks what the parts
/// cannot check alone (a link naming a node that does not exist, an interface used twice).
/// Locations, when present, point into the file the spec came from, for error messages.
public struct LabSpec: Sendable, Hashable {
    public var name: String
    public var nodes: [NodeSpec]
    public var links: [LinkSpec]
    /// Berth networks nodes can join: used if they exist, created (and removed with the
    /// lab) if they do not.
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

    /// The network named `name`.
    public func network(_ name: String) -> NetworkSpec? { networks.first { $0.name == name } }

    /// An error at `location` in this spec's file.
    func error(_ location: SourceLocation?, _ message: String, hint: String? = nil) -> BerthError {
        .labFile(source, location, message, hint: hint)
    }
}

/// A node: a network namespace named `LAB-NODE`, which may join a Berth network and may
/// run a container.
public struct NodeSpec: Sendable, Hashable {
    public var name: String
    /// `net.…` sysctls, set in the node's namespace, in file order.
    public var sysctls: [Sysctl]
    public var routes: [LabRoute]
    /// A Berth network the node joins, as an endpoint with interface `eth0` (one of
    /// `LabSpec.networks`).
    public var network: String?
    /// Ports to publish on the host from the node's address on that network.
    public var publish: [PortSpec]
    /// Where each of `publish` was written, index for index (empty when the spec has no
    /// positions): a host port taken at `up` is reported at its entry.
    public var publishLocations: [SourceLocation?] = []
    /// A container that runs in the node's namespace once the node is wired.
    public var run: RunSpec?
    public var location: SourceLocation?

    public init(name: String, sysctls: [Sysctl] = [], routes: [LabRoute] = [], network: String? = nil, publish: [PortSpec] = [],
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

        /// The key as a path under `/proc/sys` (`net/ipv4/ip_forward`): written with '/'
        /// as is, with '.' split at each dot.
        public var path: String { Self.path(of: key) }

        /// `key` as a path under `/proc/sys`.
        public static func path(of key: String) -> String {
            key.contains("/") ? key : key.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/")
        }

        /// The value of `word` in decimal, as the kernel shows it back, if the kernel reads
        /// `word` as a number (proc_get_long: an optional '-', then C's base 0: `0x1F` hex,
        /// `017` octal, `15` decimal); nil for any other word, or one past 64 bits.
        public static func kernelInteger(_ word: Substring) -> String? {
            var digits = word
            let negative = digits.first == "-"
            if negative { digits = digits.dropFirst() }
            var radix: UInt64 = 10
            if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
                radix = 16
                digits = digits.dropFirst(2)
            } else if digits.count > 1, digits.first == "0" {
                radix = 8
                digits = digits.dropFirst()
            }
            guard !digits.isEmpty else { return nil }
            var value: UInt64 = 0
            for character in digits {
                // ASCII only: hexDigitValue takes fullwidth digits too, which the kernel does not.
                guard character.isASCII, let digit = character.hexDigitValue, UInt64(digit) < radix else { return nil }
                let (shifted, over) = value.multipliedReportingOverflow(by: radix)
                let (sum, carry) = shifted.addingReportingOverflow(UInt64(digit))
                guard !over, !carry else { return nil }
                value = sum
            }
            return (negative && value != 0 ? "-" : "") + String(value)
        }

        /// Whether the key is a setting of the interface `interface`
        /// (`net/ipv{4,6}/{conf,neigh}/IFACE/…`): one a link made anew loses.
        public func names(interface: String) -> Bool {
            let parts = path.split(separator: "/")
            return parts.count >= 5 && (parts[2] == "conf" || parts[2] == "neigh") && parts[3] == interface
        }

        /// Whether the key is one of `net/ipv{4,6}/conf/{all,default}/…`: settings that new
        /// interfaces take, or that apply to all of them, so `up` writes them as soon as the
        /// node's namespace exists, before its links come.
        public var appliesToNewInterfaces: Bool {
            let parts = path.split(separator: "/")
            return parts.count >= 5 && (parts[1] == "ipv4" || parts[1] == "ipv6") && parts[2] == "conf" && (parts[3] == "all" || parts[3] == "default")
        }
    }
}

/// A node's container: a process in its own PID, mount, UTS and IPC namespaces that shares
/// the node's network namespace, supervised as a Berth container named `LAB-NODE`.
public struct RunSpec: Sendable, Hashable {
    /// Absolute path of the root filesystem; nil runs on the host's files (with a fresh /proc).
    public var rootfs: String?
    /// The command and its arguments.
    public var command: [String]
    /// `KEY=VALUE` entries, in order.
    public var environment: [String]
    /// Absolute directory to start in; nil is `/`.
    public var workingDirectory: String?
    /// All capabilities and unmasked /proc and /sys, as `docker run --privileged` (a router
    /// daemon that sets routes needs CAP_NET_ADMIN).
    public var privileged: Bool
    public var location: SourceLocation?

    public init(rootfs: String? = nil, command: [String], environment: [String] = [], workingDirectory: String? = nil,
                privileged: Bool = false, location: SourceLocation? = nil) {
        self.rootfs = rootfs
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.privileged = privileged
        self.location = location
    }
}

/// A Berth network a lab's nodes join: the one of that name if it exists, else one the lab
/// creates with these options (and removes when it goes down).
public struct NetworkSpec: Sendable, Hashable {
    public var name: String
    /// The subnet; when the network exists, it must be this one.
    public var subnet: CIDR?
    public var gateway: IPv4Address?
    /// No outbound masquerade and no published ports; nil when the file does not say (an
    /// existing network is used as it is, a created one is not internal).
    public var isInternal: Bool?
    public var location: SourceLocation?

    public init(name: String, subnet: CIDR? = nil, gateway: IPv4Address? = nil, isInternal: Bool? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.isInternal = isInternal
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
