public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Creates a network: its record, its bridge with the gateway address, forwarding, and
    /// (unless internal) outbound masquerade. Nothing is left behind if a step fails.
    @discardableResult
    public func createNetwork(_ options: NetworkOptions) throws(BerthError) -> NetworkRecord {
        do {
            return try makeNetwork(options)
        } catch {
            throw error.with(object: .network(options.name), operation: .createNetwork)
        }
    }

    private func makeNetwork(_ options: NetworkOptions) throws(BerthError) -> NetworkRecord {
        try NetworkOptions.validate(name: options.name)
        if let mtu = options.mtu, !NetworkOptions.mtuRange.contains(mtu) {
            throw .invalid("invalid MTU \(mtu)", hint: "use an MTU from 68 to 65535", parameter: "mtu")
        }
        return try store.write { tx throws(BerthError) -> NetworkRecord in
            if try tx.network(named: options.name) != nil {
                throw BerthError(.alreadyExists, "network \(options.name) already exists", hint: "choose another name, or remove that network first",
                                 object: .network(options.name), parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            let others = try tx.networks()
            let id = RecordID.generate()
            let bridge = if let given = options.bridge { given } else { try KernelNames.defaultBridge(network: options.name, id: id) }
            if let holder = others.first(where: { $0.bridge == bridge }) {
                throw BerthError(.conflict, "bridge \(bridge) already carries network \(holder.name)", hint: "choose another bridge name",
                                 object: .bridge(bridge.rawValue), parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
            }
            let taken = try takenSubnets(networks: others)
            let subnet: CIDR
            if let requested = options.subnet {
                guard requested.family == .ipv4 else {
                    throw .invalid("subnet \(requested) is not IPv4", hint: "give an IPv4 subnet such as 172.30.0.0/16", parameter: "subnet")
                }
                try SubnetPool.check(requested, against: taken)
                subnet = requested
            } else {
                subnet = try SubnetPool.pick(avoiding: taken)
            }
            let gateway = if let given = options.gateway { given } else { try IPAM.defaultGateway(for: subnet) }
            try IPAM.validate(subnet: subnet, gateway: gateway)
            let record = NetworkRecord(name: options.name, id: id, bridge: bridge, subnet: subnet, gateway: gateway,
                                       mtu: options.mtu ?? NetworkOptions.defaultMTU, isInternal: options.isInternal, created: StateClock.now())
            try tx.insertNetwork(record)
            _ = try ensureKernel(of: record)
            return record
        }
    }

    /// Removes a network with no endpoints: its bridge, its nftables objects and its record.
    public func removeNetwork(named name: String) throws(BerthError) {
        do {
            try store.write { tx throws(BerthError) in
                let network = try tx.requireNetwork(named: name)
                let attached = try tx.endpoints(network: name)
                if !attached.isEmpty {
                    let ids = attached.prefix(5).map { String($0.id.prefix(12)) }.joined(separator: ", ")
                    let more = attached.count > 5 ? " and \(attached.count - 5) more" : ""
                    throw BerthError(.conflict, "network \(name) has \(attached.count) endpoint(s) attached: \(ids)\(more)",
                                     hint: "detach its endpoints first", object: .network(name), remedy: .detachEndpoints)
                }
                try firewall.removeNetwork(network)
                do throws(BerthError) {
                    try host.netlink.deleteLink(.name(network.bridge))
                } catch where error.code == .notFound {
                    // Already gone (deleted by hand or by a reboot): removing the record is all that is left.
                }
                _ = try tx.deleteNetwork(named: name)
            }
        } catch {
            throw error.with(object: .network(name), operation: .removeNetwork)
        }
    }

    /// Every network, by name.
    public func networks() throws(BerthError) -> [NetworkRecord] {
        try store.read { tx throws(BerthError) in try tx.networks() }
    }

    /// One network.
    public func network(named name: String) throws(BerthError) -> NetworkRecord {
        try store.read { tx throws(BerthError) in try tx.requireNetwork(named: name) }
    }

    /// Subnets a new network must not overlap: host routes and addresses, other networks.
    func takenSubnets(networks: [NetworkRecord]) throws(BerthError) -> [TakenSubnet] {
        var taken = networks.map { TakenSubnet($0.subnet, label: "network \($0.name)") }
        let links = Dictionary(try host.netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        for route in try host.netlink.routes(family: .ipv4) where !route.isDefault {
            guard let destination = route.destination else { continue }
            let device = route.linkIndex.flatMap { links[$0] }.map { " dev \($0)" } ?? ""
            taken.append(TakenSubnet(destination.network, label: "route \(destination.network)\(device)"))
        }
        for address in try host.netlink.addresses(family: .ipv4) where !address.cidr.address.isLoopback {
            let device = links[address.linkIndex].map { " on \($0)" } ?? ""
            taken.append(TakenSubnet(address.cidr.network, label: "address \(address.cidr)\(device)"))
        }
        return taken
    }
}
