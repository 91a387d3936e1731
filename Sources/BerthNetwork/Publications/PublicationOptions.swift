public import BerthCore
public import BerthNamespace

/// What `NetworkManager.publish(_:)` asks for: ports on the host forwarded to an address
/// that another program configured inside a namespace.
public struct PublicationOptions: Sendable, Hashable {
    /// The publication's id: 1–128 letters, digits, '_', '.', '-', unused by any endpoint.
    public var id: String
    /// A name to list and prune publications together by (see `PublicationRecord.group`).
    public var group: String
    /// The address the ports forward to.
    public var address: IPv4Address
    /// The namespace the address lives in: by name, path or pid, or one the caller holds open.
    public var namespace: NamespaceReference
    /// The host-side link traffic to `address` leaves through, when known.
    public var hostLink: InterfaceName?
    /// Ports to publish, as `docker run -p` takes them.
    public var ports: [PortSpec]

    public init(id: String, group: String, address: IPv4Address, namespace: NamespaceReference, hostLink: InterfaceName? = nil,
                ports: [PortSpec]) {
        self.id = id
        self.group = group
        self.address = address
        self.namespace = namespace
        self.hostLink = hostLink
        self.ports = ports
    }
}
