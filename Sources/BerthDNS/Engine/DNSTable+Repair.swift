import BerthCore

extension DNSTable {
    /// The table without what `validate()` would refuse, each part left out with a line to
    /// `report`, so that one bad record costs its own names and not every network's:
    ///
    /// - a network with no listen address (or the unspecified one), no subnet, or a listen
    ///   address an earlier network serves is left out;
    /// - within a network, an endpoint is left out when its name is already held (any case)
    ///   or is an earlier endpoint's alias, or when one of its aliases is an earlier
    ///   endpoint's name: the first in table order keeps the name (every form of a name is
    ///   compared, `forms(of:)`).
    ///
    /// A name under another network's domain is kept but reported: the resolver does not
    /// answer it as it is (`foreignDomainHolder`).
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
        let table = DNSTable(networks: kept)
        for (index, zone) in kept.enumerated() {
            for endpoint in zone.endpoints {
                for name in [endpoint.name] + endpoint.aliases {
                    if let other = table.foreignDomainHolder(of: name, zone: index) {
                        let only = zone.domain.map { ", only as \(name.text).\($0.text)" } ?? ""
                        report("\(name.text) of \(endpoint.describe) on network \(zone.name) is not answered as it is\(only): it is under network \(other)'s domain")
                    }
                }
            }
        }
        return table
    }
}

extension DNSNetworkZone {
    /// The endpoints that `validateNames()` accepts, first come first served.
    func keptEndpoints(report: (String) -> Void) -> [DNSEndpointNames] {
        // Every form of every kept name (`forms(of:)`), and of every kept alias.
        var names: [DNSName: DNSEndpointNames] = [:]
        var aliases: [DNSName: DNSEndpointNames] = [:]
        var kept: [DNSEndpointNames] = []
        for endpoint in endpoints {
            let nameForms = forms(of: endpoint.name)
            if let form = nameForms.first(where: { names[$0] != nil || aliases[$0] != nil }), let holder = names[form] ?? aliases[form] {
                report("\(endpoint.describe) left out of network \(name): name \(endpoint.name.text) is held by \(holder.describe)\(clashNote(endpoint.name, names[form] == nil ? form : holder.name, form))")
                continue
            }
            let aliasForms = endpoint.aliases.flatMap { alias in forms(of: alias).map { (alias, $0) } }
            if let hit = aliasForms.first(where: { names[$0.1] != nil }), let holder = names[hit.1] {
                report("\(endpoint.describe) left out of network \(name): its alias \(hit.0.text) is the name of \(holder.describe)\(clashNote(hit.0, holder.name, hit.1))")
                continue
            }
            for form in nameForms { names[form] = endpoint }
            for (_, form) in aliasForms where aliases[form] == nil { aliases[form] = endpoint }
            kept.append(endpoint)
        }
        return kept
    }
}
