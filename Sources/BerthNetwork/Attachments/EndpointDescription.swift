public import BerthCore

/// An endpoint with what a caller reporting it needs besides the record: its network and
/// the MAC addresses of the host-side links (the bridge and the veth).
public struct EndpointDescription: Sendable, Hashable {
    /// The endpoint as recorded.
    public var endpoint: EndpointRecord
    /// The network it is attached to, as recorded.
    public var network: NetworkRecord
    /// The bridge's MAC, nil if the kernel reports none (or the bridge is gone).
    public var bridgeMAC: MACAddress?
    /// The host veth's MAC, nil if the kernel reports none (or the veth is gone).
    public var hostVethMAC: MACAddress?

    /// A description from the two records and the MACs read from the kernel.
    public init(endpoint: EndpointRecord, network: NetworkRecord, bridgeMAC: MACAddress?, hostVethMAC: MACAddress?) {
        self.endpoint = endpoint
        self.network = network
        self.bridgeMAC = bridgeMAC
        self.hostVethMAC = hostVethMAC
    }

    /// The interface's address with the network's prefix length (`10.88.0.2/16`); nil on
    /// an IPv6-only network.
    public var addressCIDR: CIDR? {
        get throws(BerthError) {
            guard let address = endpoint.address, let subnet = network.subnet else { return nil }
            return try CIDR(address: .v4(address), prefixLength: subnet.prefixLength)
        }
    }

    /// The interface's IPv6 address with the network's IPv6 prefix length; nil on an
    /// IPv4-only network.
    public var ipv6AddressCIDR: CIDR? {
        get throws(BerthError) {
            guard let address = endpoint.ipv6Address, let subnet = network.ipv6Subnet else { return nil }
            return try CIDR(address: .v6(address), prefixLength: subnet.prefixLength)
        }
    }
}

extension NetworkManager {
    /// Describes an endpoint: its network record and the host links' MACs. Costs one state
    /// read and two link lookups.
    public func describe(_ endpoint: EndpointRecord) throws(BerthError) -> EndpointDescription {
        let network = try self.network(named: endpoint.network)
        return EndpointDescription(endpoint: endpoint, network: network,
                                   bridgeMAC: try optionalLink(named: network.bridge.rawValue)?.mac,
                                   hostVethMAC: try optionalLink(named: endpoint.hostVeth.rawValue)?.mac)
    }
}
