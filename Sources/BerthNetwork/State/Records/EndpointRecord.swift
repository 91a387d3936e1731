public import BerthCore
public import BerthNamespace

/// One interface of one network namespace attached to a network: the veth pair, its
/// leased address and its published ports.
public struct EndpointRecord: Sendable, Hashable {
    /// A unique identifier, given by the user (`--id`) or by `RecordID.generate()`.
    public var id: String
    /// The name of the network the endpoint is attached to.
    public var network: String
    /// The namespace as the user named it: a path such as `/run/netns/web` or `/proc/PID/ns/net`.
    public var namespacePath: String
    /// Device and inode of the namespace, to tell whether `namespacePath` still names it.
    public var namespaceIdentity: NamespaceIdentity
    /// The interface name inside the namespace (`eth0`).
    public var interfaceName: InterfaceName
    /// The host end of the veth pair, unique among endpoints.
    public var hostVeth: InterfaceName
    /// The leased IPv4 address, unique within the network; nil on an IPv6-only network.
    public var address: IPv4Address?
    /// The leased IPv6 address, unique within the network; nil on an IPv4-only network.
    public var ipv6Address: IPv6Address?
    /// The MAC address of the interface inside the namespace.
    public var mac: MACAddress
    /// When the endpoint was attached, in seconds since the Unix epoch.
    public var created: Int64
    /// The endpoint's published ports; each one's `endpointID` is this endpoint's `id`.
    public var ports: [PortMappingRecord]
    /// A detach has begun (and was committed before it touched the kernel) but has not
    /// finished: a crash or an error interrupted it. `gc`, `detach` and an attach of the same
    /// id finish it; nothing else uses the endpoint meanwhile.
    public var isDetaching: Bool
    /// The name other endpoints of the network resolve to its address (`--name`), unique
    /// on the network regardless of case.
    public var name: String?
    /// More names for it (`--alias`); several endpoints may share one (round robin).
    public var aliases: [String]
    /// This is a publication's view (`PublicationRecord.firewallView()`), not an endpoint:
    /// its addresses get `publication_hairpin` elements beside its ports' (an endpoint's
    /// hairpin is masqueraded by its network's rule).
    var isPublicationView = false

    /// A record as given; the store checks the uniqueness of the id, the veth name, the
    /// addresses and the name when it is inserted.
    public init(id: String, network: String, namespacePath: String, namespaceIdentity: NamespaceIdentity,
                interfaceName: InterfaceName, hostVeth: InterfaceName, address: IPv4Address?, mac: MACAddress,
                created: Int64, ports: [PortMappingRecord] = [], isDetaching: Bool = false, ipv6Address: IPv6Address? = nil,
                name: String? = nil, aliases: [String] = []) {
        self.id = id
        self.network = network
        self.namespacePath = namespacePath
        self.namespaceIdentity = namespaceIdentity
        self.interfaceName = interfaceName
        self.hostVeth = hostVeth
        self.address = address
        self.mac = mac
        self.created = created
        self.ports = ports
        self.isDetaching = isDetaching
        self.ipv6Address = ipv6Address
        self.name = name
        self.aliases = aliases
    }

    /// The endpoint's addresses, IPv4 first.
    public var addresses: [IPAddress] {
        IPAddress.list(ipv4: address, ipv6: ipv6Address)
    }

    /// Whether the resolver's table has anything of this endpoint's.
    public var hasNames: Bool { name != nil || !aliases.isEmpty }
}
