import BerthCore
import BerthNetlink

/// Deletes conntrack entries that would keep traffic away from a newly published port or
/// on a departed container, through the host handle's ctnetlink.
///
/// Only datagram protocols need it. A UDP or SCTP client keeps its source port, so a flow
/// that began before the mapping (set up without NAT) or that went to the previous owner
/// of a host port keeps its stale entry as long as it keeps sending. A TCP flow to a port
/// with no mapping was refused and a new connection gets a new entry, so TCP-only
/// endpoints skip the cleanup — and its cost, which is a walk of the whole conntrack hash
/// table (about 10 ms here; a flush filtered in the kernel walks the same buckets).
///
/// So an endpoint without datagram ports leaves the entries of its own address behind on
/// detach, which Docker deletes: a long-lived outbound UDP flow whose peer keeps sending
/// reaches the next endpoint given the address until the entry times out (a known gap,
/// docs/networks.md, "Endpoints").
enum ConntrackCleanup {
    static func filters(for endpoint: EndpointRecord, includingAddress: Bool) -> [ConntrackFilter] {
        var filters: [ConntrackFilter] = []
        // The datagram ports of each protocol and host address, merged into ranges: a
        // published range is one filter, not one a port (each entry of the dump is compared
        // with every filter). A wildcard matches any destination of either family, so a
        // dual-stack port's `0.0.0.0` and `::` mappings are one filter (and one dump of both
        // families). A list, not a dictionary keyed by the pair (see PortAllocator).
        var groups: [(proto: TransportProtocol, address: IPAddress?, ports: [UInt16])] = []
        for mapping in endpoint.ports where mapping.key.proto != .tcp {
            let address = mapping.key.hostAddress.isUnspecified ? nil : mapping.key.hostAddress
            if let index = groups.firstIndex(where: { $0.proto == mapping.key.proto && $0.address == address }) {
                groups[index].ports.append(mapping.key.hostPort)
            } else {
                groups.append((mapping.key.proto, address, [mapping.key.hostPort]))
            }
        }
        for group in groups {
            let ports = group.ports.sorted()
            var low = ports[0], high = ports[0]
            for port in ports.dropFirst() where port != high {
                // Sorted: port > high here, so high + 1 cannot overflow.
                if port == high + 1 {
                    high = port
                } else {
                    append(group.proto, low...high, group.address, to: &filters)
                    (low, high) = (port, port)
                }
            }
            append(group.proto, low...high, group.address, to: &filters)
        }
        guard !filters.isEmpty else { return [] }
        if includingAddress {
            if let address = endpoint.address { filters.append(.address(.v4(address))) }
            if let ipv6 = endpoint.ipv6Address { filters.append(.address(.v6(ipv6))) }
        }
        return filters
    }

    private static func append(_ proto: TransportProtocol, _ ports: ClosedRange<UInt16>, _ address: IPAddress?, to filters: inout [ConntrackFilter]) {
        if ports.count > 1, let range = try? PortRange(ports.lowerBound, ports.upperBound) {
            filters.append(.destinationPort(range, protocol: proto, address: address))
        } else {
            for port in ports { filters.append(.destinationPort(port, protocol: proto, address: address)) }
        }
    }

    /// After an attach: flows to the newly published datagram ports.
    static func afterPublish(_ endpoint: EndpointRecord, host: HostHandle) throws(BerthError) {
        let filters = filters(for: endpoint, includingAddress: false)
        guard !filters.isEmpty else { return }
        _ = try host.conntrack.deleteEntries(matchingAny: filters)
    }

    /// After a detach: flows to its datagram ports and to its address.
    static func afterUnpublish(_ endpoint: EndpointRecord, host: HostHandle) throws(BerthError) {
        let filters = filters(for: endpoint, includingAddress: true)
        guard !filters.isEmpty else { return }
        _ = try host.conntrack.deleteEntries(matchingAny: filters)
    }
}
