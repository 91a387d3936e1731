public import BerthCore
public import BerthNamespace

/// Ports published to an address whose interface Berth did not make: another program (a
/// runtime's own network code, another networking tool) wired the namespace, and Berth
/// only adds the map elements that forward host ports to it.
///
/// Published keys share one owner with endpoints' ports: a key is held by an endpoint or
/// by a publication, never both.
public struct PublicationRecord: Sendable, Hashable {
    /// A unique identifier, chosen by the caller; never the id of an endpoint.
    public var id: String
    /// The caller's name for a set of publications, listed and pruned together (for example
    /// the name of the network the other program manages).
    public var group: String
    /// The IPv4 address inside the namespace that published ports forward to; nil when
    /// the interface has none (an IPv6-only one).
    public var address: IPv4Address?
    /// The IPv6 address that published ports forward to; nil when the interface has none.
    public var ipv6Address: IPv6Address?
    /// The namespace the address lives in, as the caller named it.
    public var namespacePath: String
    /// Device and inode of the namespace, to tell whether `namespacePath` still names it.
    public var namespaceIdentity: NamespaceIdentity
    /// The host-side link traffic to `address` leaves through (usually a bridge), when the
    /// caller knows it: publishing on 127.0.0.1 needs `route_localnet` there.
    public var hostLink: InterfaceName?
    /// When the ports were published, in seconds since the Unix epoch.
    public var created: Int64
    /// The published ports; each one's `endpointID` is this publication's `id`.
    public var ports: [PortMappingRecord]

    /// A record as given; when it is inserted the store's keys refuse an id or a port key
    /// already held (`publish` checks the id against endpoints first).
    public init(id: String, group: String, address: IPv4Address?, ipv6Address: IPv6Address? = nil, namespacePath: String,
                namespaceIdentity: NamespaceIdentity, hostLink: InterfaceName? = nil, created: Int64, ports: [PortMappingRecord] = []) {
        self.id = id
        self.group = group
        self.address = address
        self.ipv6Address = ipv6Address
        self.namespacePath = namespacePath
        self.namespaceIdentity = namespaceIdentity
        self.hostLink = hostLink
        self.created = created
        self.ports = ports
    }

    /// The addresses, IPv4 first.
    public var addresses: [IPAddress] {
        IPAddress.list(ipv4: address, ipv6: ipv6Address)
    }

    /// The shape the firewall and conntrack code read (id, addresses of both families,
    /// ports): an IPv6 address gets its elements in `ip6 berth` exactly as a dual-stack
    /// endpoint's does. The host veth stands in for a link Berth does not own and is never
    /// touched through this view. The view's addresses get hairpin elements too
    /// (`FirewallLayout.publicationHairpin`).
    func firewallView() throws(BerthError) -> EndpointRecord {
        let placeholder: InterfaceName
        if let hostLink { placeholder = hostLink } else { placeholder = try InterfaceName("lo") }
        // Never used (no interface of Berth's): derived as an endpoint's would be.
        let mac = if address == nil, let ipv6Address { MACAddress(derivedFrom: ipv6Address) } else { MACAddress(derivedFrom: address ?? .any) }
        var view = EndpointRecord(id: id, network: group, namespacePath: namespacePath, namespaceIdentity: namespaceIdentity,
                                  interfaceName: placeholder, hostVeth: placeholder, address: address,
                                  mac: mac, created: created, ports: ports, ipv6Address: ipv6Address)
        view.isPublicationView = true
        return view
    }
}
