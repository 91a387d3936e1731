public import BerthCore

/// A network as recorded: a bridge with an IPv4 subnet whose first address is usually the
/// bridge's own (the gateway).
public struct NetworkRecord: Sendable, Hashable {
    /// The user's name for the network, unique among networks.
    public var name: String
    /// A unique, stable identifier (64 hex digits from `RecordID.generate()`).
    public var id: String
    /// The Linux bridge that carries the network, unique among networks.
    public var bridge: InterfaceName
    /// The network's IPv4 subnet, host bits clear.
    public var subnet: CIDR
    /// The bridge's address inside `subnet`; never leased to an endpoint.
    public var gateway: IPv4Address
    /// The MTU of the bridge and of every veth attached to it.
    public var mtu: Int
    /// Whether traffic is kept inside the network (no route out, no published ports).
    public var isInternal: Bool
    /// When the network was created, in seconds since the Unix epoch.
    public var created: Int64

    public init(name: String, id: String, bridge: InterfaceName, subnet: CIDR, gateway: IPv4Address,
                mtu: Int, isInternal: Bool, created: Int64) {
        self.name = name
        self.id = id
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.mtu = mtu
        self.isInternal = isInternal
        self.created = created
    }
}
