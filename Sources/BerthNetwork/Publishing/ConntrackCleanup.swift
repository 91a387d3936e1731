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
/// table (about 10 ms here).
enum ConntrackCleanup {
    static func filters(for endpoint: EndpointRecord, includingAddress: Bool) -> [ConntrackFilter] {
        let datagram = endpoint.ports.filter { $0.key.proto != .tcp }
        guard !datagram.isEmpty else { return [] }
        var filters: [ConntrackFilter] = []
        for mapping in datagram {
            // A wildcard matches any destination of either family, so a dual-stack port's
            // `0.0.0.0` and `::` mappings are one filter (and one dump of both families).
            let filter = ConntrackFilter.destinationPort(mapping.key.hostPort, protocol: mapping.key.proto,
                                                         address: mapping.key.hostAddress.isUnspecified ? nil : mapping.key.hostAddress)
            if !filters.contains(filter) { filters.append(filter) }
        }
        if includingAddress {
            if let address = endpoint.address { filters.append(.address(.v4(address))) }
            if let ipv6 = endpoint.ipv6Address { filters.append(.address(.v6(ipv6))) }
        }
        return filters
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
