public import BerthCore
public import BerthNamespace

/// What `NetworkManager.publish(_:)` asks for: ports on the host forwarded to an address
/// that another program configured inside a namespace — an IPv4 address, an IPv6 address,
/// or one of each (a dual-stack interface).
///
/// The families follow the addresses, as for an endpoint on a network: a port without a
/// host address is published on every address of each family the publication has
/// (`0.0.0.0` and `::`), one with a host address on that family only.
public struct PublicationOptions: Sendable, Hashable {
    /// The publication's id: what an endpoint id may be (`AttachOptions.validate(id:)`), unused by any endpoint.
    public var id: String
    /// A name to list and prune publications together by (see `PublicationRecord.group`).
    public var group: String
    /// The IPv4 address the ports forward to; nil when the interface has none.
    public var address: IPv4Address?
    /// The IPv6 address the ports forward to; nil when the interface has none.
    public var ipv6Address: IPv6Address?
    /// The namespace the address lives in: by name, path or pid, or one the caller holds open.
    /// Its path is recorded and must name it for as long as the publication stands, as
    /// `AttachOptions.namespace` says: a per-process path (`/proc/PID/fd/N`, `/proc/self/…`)
    /// is refused.
    public var namespace: NamespaceReference
    /// The host-side link traffic to the address leaves through, when known.
    public var hostLink: InterfaceName?
    /// Ports to publish, as `docker run -p` takes them.
    public var ports: [PortSpec]

    /// Options as given; nothing is checked until `NetworkManager.publish(_:)` runs (the id,
    /// a non-empty group, at least one unicast address, the ports).
    public init(id: String, group: String, address: IPv4Address?, ipv6Address: IPv6Address? = nil, namespace: NamespaceReference,
                hostLink: InterfaceName? = nil, ports: [PortSpec]) {
        self.id = id
        self.group = group
        self.address = address
        self.ipv6Address = ipv6Address
        self.namespace = namespace
        self.hostLink = hostLink
        self.ports = ports
    }

    /// The addresses, IPv4 first.
    public var addresses: [IPAddress] {
        IPAddress.list(ipv4: address, ipv6: ipv6Address)
    }
}
