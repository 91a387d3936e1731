import BerthCore

extension DNSTable {
    /// The table without what `validate()` would refuse, each part left out with a line to
    /// `report`, so that one bad record costs its own names and not every network's:
    ///
    /// - a network with no listen address (or the unspecified one), no subnet, or a listen
    ///   address an earlier network serves is left out;
    /// - within a network, an endpoint is left out when its name is already held (any case)
    ///   or is an earlier endpoint's alias, or when one of its aliases is an earlier
    ///   endpoint's name: the first in table order keeps the name.
    public func keepingValid(report: (String) -> Void) -> DNSTable {
        var listeners: [IPAddress: String] = [:]
        var kept: [DNSNetworkZone] = []
        for zone in networks {
            if zone.listenAddresses.isEmpty || zone.listenAddresses.contains(where: \.isUnspecified) {
                report("network \(zone.name) left out: no address for the resolver to listen on")
                continue
            }
            if zone.subnets.isEmpty {
                report("network \(zone.name) left out: it has no subnet")
                continue
            }
            if let address = zone.listenAddresses.first(where: { listeners[$0] != nil }), let holder = listeners[address] {
                report("network \(zone.name) left out: address \(address) already serves network \(holder)")
                continue
            }
            for address in zone.listenAddresses { listeners[address] = zone.name }
            var zone = zone
            zone.endpoints = zone.keptEndpoints(report: report)
            kept.append(zone)
        }
        return DNSTable(networks: kept)
    }
}

extension DNSNetworkZone {
    /// The endpoints that `validateNames()` accepts, first come first served.
    func keptEndpoints(report: (String) -> Void) -> [DNSEndpointNames] {
        var names: [DNSName: DNSEndpointNames] = [:]
        var aliases: [DNSName: DNSEndpointNames] = [:]
        var kept: [DNSEndpointNames] = []
        for endpoint in endpoints {
            if let holder = names[endpoint.name] ?? aliases[endpoint.name] {
                report("\(endpoint.describe) left out of network \(name): name \(endpoint.name.text) is held by \(holder.describe)")
                continue
            }
            if let alias = endpoint.aliases.first(where: { names[$0] != nil }), let holder = names[alias] {
                report("\(endpoint.describe) left out of network \(name): its alias \(alias.text) is the name of \(holder.describe)")
                continue
            }
            names[endpoint.name] = endpoint
            for alias in endpoint.aliases where aliases[alias] == nil { aliases[alias] = endpoint }
            kept.append(endpoint)
        }
        return kept
    }
}
