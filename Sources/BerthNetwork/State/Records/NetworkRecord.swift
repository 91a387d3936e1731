public import BerthCore

/// A network as recorded: a bridge with an IPv4 subnet whose first address is usually the
/// bridge's own (the gateway), an IPv6 subnet and gateway instead (IPv6-only), or both (dual
/// stack). A network has at least one family; `hasIPv4`, `hasIPv6` say which.
public struct NetworkRecord: Sendable, Hashable {
    /// The user's name for the network, unique among networks.
    public var name: String
    /// A unique, stable identifier (64 hex digits from `RecordID.generate()`).
    public var id: String
    /// The Linux bridge that carries the network, unique among networks.
    public var bridge: InterfaceName
    /// The network's IPv4 subnet, host bits clear; nil on an IPv6-only network.
    public var subnet: CIDR?
    /// The bridge's address inside `subnet`, never leased to an endpoint; nil exactly when
    /// `subnet` is.
    public var gateway: IPv4Address?
    /// The MTU of the bridge and of every veth attached to it.
    public var mtu: Int
    /// Whether traffic is kept inside the network (no route out, no published ports).
    public var isInternal: Bool
    /// When the network was created, in seconds since the Unix epoch.
    public var created: Int64
    /// The bridge existed before the network and was adopted as it was (the user asked for
    /// it): Berth never deletes, downs, renames, re-tags or re-addresses it, and takes only
    /// its own gateway address away again.
    public var bridgeAdopted: Bool
    /// Berth put the gateway address on the bridge (on an adopted bridge it may have been
    /// there already, and then stays when the network is removed).
    public var gatewayAdded: Bool
    /// The network's IPv6 subnet (host bits clear), nil on an IPv4-only network.
    public var ipv6Subnet: CIDR?
    /// The bridge's IPv6 address inside `ipv6Subnet`, never leased; nil exactly when
    /// `ipv6Subnet` is.
    public var ipv6Gateway: IPv6Address?
    /// The resolver (berth-dns) answers its endpoints' names on the gateway address, and
    /// containers get the gateway as their nameserver (docs/dns.md).
    public var dns: Bool
    /// Where the resolver forwards this network's other queries (`ADDR`, `ADDR:PORT`,
    /// `[V6]:PORT`); empty means the host's nameservers.
    public var dnsUpstreams: [String]
    /// The part of `subnet` that endpoints asking for no address get theirs from
    /// (`AddressRange`); nil: the whole subnet. An address asked for may lie outside it.
    public var ipRange: AddressRange?
    /// The part of `ipv6Subnet` that endpoints asking for no IPv6 address get theirs from;
    /// nil: the whole IPv6 subnet.
    public var ipv6Range: AddressRange?
    /// Addresses of the subnets that no endpoint may have, by name (Docker's auxiliary
    /// addresses: other hosts on the bridge, a router Berth does not know of). Never the
    /// gateway.
    public var auxiliaryAddresses: [String: IPAddress]
    /// Whether the network is in use, or a create or removal of it is under way (or was
    /// interrupted by a crash).
    public var phase: Phase

    /// Where a network is in its life. A create commits the network `.creating` before it
    /// touches the kernel, a removal commits `.removing` before it does; each clears or
    /// deletes the record in its final commit. A network found marked was left so by a
    /// crash (the state lock is held throughout both): nothing attaches to it, and `gc` —
    /// or a create or removal of the same name — removes what it made and forgets it.
    public enum Phase: String, Sendable, Hashable {
        /// Created: endpoints may attach.
        case ready
        /// Its create is under way, or was interrupted.
        case creating
        /// Its removal is under way, or was interrupted.
        case removing
    }

    /// A record as given: a bridge Berth makes (`bridgeAdopted` false) holding the gateway it
    /// added, ready, without DNS unless said. The store checks uniqueness when it is inserted.
    public init(name: String, id: String, bridge: InterfaceName, subnet: CIDR?, gateway: IPv4Address?,
                mtu: Int, isInternal: Bool, created: Int64, bridgeAdopted: Bool = false, gatewayAdded: Bool = true,
                ipv6Subnet: CIDR? = nil, ipv6Gateway: IPv6Address? = nil, dns: Bool = false, dnsUpstreams: [String] = [], phase: Phase = .ready,
                ipRange: AddressRange? = nil, ipv6Range: AddressRange? = nil, auxiliaryAddresses: [String: IPAddress] = [:]) {
        self.ipRange = ipRange
        self.ipv6Range = ipv6Range
        self.auxiliaryAddresses = auxiliaryAddresses
        self.name = name
        self.id = id
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.mtu = mtu
        self.isInternal = isInternal
        self.created = created
        self.bridgeAdopted = bridgeAdopted
        self.gatewayAdded = gatewayAdded
        self.ipv6Subnet = ipv6Subnet
        self.ipv6Gateway = ipv6Gateway
        self.dns = dns
        self.dnsUpstreams = dnsUpstreams
        self.phase = phase
    }

    /// The IPv4 subnet and gateway, nil on an IPv6-only network.
    public var ipv4: (subnet: CIDR, gateway: IPv4Address)? {
        guard let subnet, let gateway else { return nil }
        return (subnet, gateway)
    }

    /// The IPv6 subnet and gateway, nil on an IPv4-only network.
    public var ipv6: (subnet: CIDR, gateway: IPv6Address)? {
        guard let ipv6Subnet, let ipv6Gateway else { return nil }
        return (ipv6Subnet, ipv6Gateway)
    }

    /// Whether the network carries IPv4 (every network but an IPv6-only one).
    public var hasIPv4: Bool { subnet != nil }
    /// Whether the network carries IPv6 (dual stack or IPv6-only).
    public var hasIPv6: Bool { ipv6Subnet != nil }
    /// Whether the network carries both families.
    public var isDualStack: Bool { hasIPv4 && hasIPv6 }
    /// Whether the network carries IPv6 alone (`--ipv4=false`).
    public var isIPv6Only: Bool { hasIPv6 && !hasIPv4 }
    /// Where containers of the network send DNS queries when `dns` is on: the IPv4 gateway,
    /// or on an IPv6-only network the IPv6 one (the resolver listens there). nil when DNS is off.
    public var nameserver: IPAddress? {
        guard dns else { return nil }
        if let gateway { return .v4(gateway) }
        return ipv6Gateway.map(IPAddress.v6)
    }

    /// The families the network carries, IPv4 first: "IPv4", "IPv6", or both.
    public var familyDescription: String {
        [hasIPv4 ? "IPv4" : nil, hasIPv6 ? "IPv6" : nil].compactMap { $0 }.joined(separator: " and ")
    }

    /// The MAC address of a bridge Berth makes for this network: fixed, derived from the id,
    /// so the gateway's MAC never changes while the network exists — not when ports come and
    /// go (a bridge without a set address takes its lowest port's), nor when `reconcile`
    /// makes the bridge again. nil for an adopted bridge, whose address is its owner's.
    public var bridgeMAC: MACAddress? {
        bridgeAdopted ? nil : KernelNames.bridgeMAC(networkID: id)
    }
}
