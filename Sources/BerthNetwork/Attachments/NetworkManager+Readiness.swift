public import BerthCore
import BerthNetlink

extension NetworkManager {
    /// Why an attach to `network` would fail now; empty when it can succeed. When the
    /// network does not exist yet, `creating` describes the network the caller would create
    /// first (nil: the caller would not create it, so its absence is the blocker). So does
    /// it when the network's create or removal was interrupted: such a caller finishes that
    /// as a removal and creates the network anew (`ensureNetwork`), so the create is judged,
    /// the unfinished network's subnets and bridge counting as free.
    ///
    /// Looks at the state (readable, the network's free addresses) and the host (the
    /// bridge's name is free or a bridge, the requested subnets are free, IPv6 is on when
    /// the network would have it). Nothing changes.
    public func attachBlockers(network name: String, creating options: NetworkOptions? = nil) throws(BerthError) -> [BerthError] {
        let (instance, record, networks, leased) = try store.read { tx throws(BerthError) -> (StateInstance, NetworkRecord?, [NetworkRecord], Int) in
            let record = try tx.network(named: name)
            // On a network with an address range, only the leases inside it count against it.
            let leased = if let record, let subnet = record.subnet, record.ipRange != nil {
                try IPAM.pool(of: record, hosts: try IPAM.hostRange(of: subnet)).map { pool throws(BerthError) in
                    try tx.leasedAddresses(network: name, in: pool).count
                } ?? 0
            } else if record != nil {
                try tx.endpointCount(network: name)
            } else {
                0
            }
            return (try tx.instance(), record, try tx.networks(), leased)
        }
        var blockers: [BerthError] = []
        if let record, record.phase == .ready || options == nil {
            do throws(BerthError) {
                try record.requireReady()
            } catch {
                blockers.append(error.with(operation: .attach))
            }
            let link = try optionalLink(named: record.bridge.rawValue)
            if let link, link.kind != .bridge {
                blockers.append(BerthError(.conflict, "link \(record.bridge) of network \"\(name)\" exists but is a \(link.kind), not a bridge",
                                           hint: "delete that link", object: .link(record.bridge.rawValue), operation: .attach,
                                           remedy: .remove(.link(record.bridge.rawValue))))
            }
            // IPv6 leases are not counted (as on a dual-stack network): only the IPv4 pool runs out here.
            if let (subnet, gateway) = record.ipv4 {
                // The host's own addresses on an adopted bridge are no endpoint's to have.
                var hostAddresses: [CIDR] = []
                if record.bridgeAdopted, let link, link.kind == .bridge {
                    hostAddresses = try host.netlink.addresses(of: .index(link.index), family: .ipv4).map(\.cidr)
                }
                let capacity = try IPAM.capacity(network: record, subnet: subnet, gateway: gateway, hostAddresses: hostAddresses)
                if leased >= capacity.usable {
                    blockers.append(BerthError(.conflict, IPAM.exhausted(record, subnet: subnet, capacity: capacity),
                                               hint: record.ipRange == nil ? "detach an endpoint, or create a network with a larger subnet"
                                                   : "detach an endpoint, or give the endpoint an address of the subnet outside the range",
                                               object: .network(name),
                                               operation: .attach, parameter: "network", remedy: .detachEndpoints))
                }
            }
            return blockers
        }
        guard let options else {
            return [BerthError(.notFound, "no network named \"\(name)\"", object: .network(name), operation: .attach, parameter: "network",
                               remedy: .listExisting(.network))]
        }
        // An unfinished network (`record`, not ready) goes before the create: its record, and
        // the bridge Berth made for it with what it holds, are no clash. (An adopted bridge's
        // subnets are the create's to judge, as its own adopted bridge's.)
        let others = networks.filter { $0.name != name }
        let unfinishedBridge = if let record, !record.bridgeAdopted { try optionalLink(named: record.bridge.rawValue)?.index } else { Int32?.none }
        do throws(BerthError) {
            try NetworkOptions.validate(name: options.name)
            try NetworkOptions.refuseReserved(name: options.name)
            if let bridge = options.bridge {
                if let holder = others.first(where: { $0.bridge == bridge }) {
                    throw BerthError(.conflict, "bridge \(bridge) already carries network \(holder.name)", object: .bridge(bridge.rawValue),
                                     operation: .createNetwork, parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
                }
                // Another kind of link, another instance's bridge, a bridge Berth did not make
                // (unless the options adopt it): what creating the network would refuse.
                try checkOwnership(of: try optionalLink(named: bridge.rawValue), bridge: bridge, options: options, instance: instance,
                                   known: Set(others.map(\.name)))
            }
            // An adopted bridge: its MTU bounds the network's, its addresses give the gateway.
            let adopted = if options.usesExistingBridge, let bridge = options.bridge { try optionalLink(named: bridge.rawValue) } else { Link?.none }
            _ = try Self.chooseMTU(options, adopted: adopted)
            if !options.ipv4 {
                try Self.checkIPv6Only(options)
            } else {
                let taken = try takenSubnets(networks: others).filter { $0.link == nil || $0.link != unfinishedBridge }
                _ = try chooseIPv4(options, taken: taken, adopted: adopted)
            }
            if options.wantsIPv6 {
                // The host has IPv6, and a requested IPv6 subnet is free (a picked /64 of
                // the unique local prefix always is: 65,536 of them, skipping taken ones).
                try requireIPv6(network: options.name)
                if let requested = options.ipv6Subnet {
                    try Self.checkIPv6Subnet(requested, against: try takenIPv6Subnets(networks: others, except: unfinishedBridge))
                }
            }
        } catch {
            blockers.append(error.with(operation: .createNetwork))
        }
        return blockers
    }
}
