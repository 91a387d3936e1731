import BerthCore
import BerthNetlink

extension NetworkManager {
    /// A new network's IPv4 subnet and gateway, and on an adopted bridge whether the bridge
    /// holds the gateway already (nil on a bridge Berth makes).
    struct IPv4Choice {
        var subnet: CIDR
        var gateway: IPv4Address
        var gatewayPresent: Bool?
    }

    /// Chooses the IPv4 side of a new network; nil on an IPv6-only one.
    ///
    /// A subnet given is checked against `taken` less what is on the adopted bridge (`adopted`),
    /// so the network may use the subnet that bridge carries. A subnet picked avoids all of
    /// `taken`; on an adopted bridge none is picked (the subnet must be given).
    ///
    /// Without a gateway given, a bridge Berth makes gets the subnet's first host; an adopted
    /// bridge's own address in the subnet (with the subnet's prefix length) is the gateway,
    /// and a subnet it holds no address in is refused: Berth adds to a bridge it did not
    /// make only the address it is asked to add, never one of its choosing (on a LAN, the
    /// subnet's first host is usually its router).
    func chooseIPv4(_ options: NetworkOptions, taken: [TakenSubnet], adopted: Link?) throws(BerthError) -> IPv4Choice? {
        guard options.ipv4 else { return nil }
        let subnet: CIDR
        if let requested = options.subnet {
            guard requested.family == .ipv4 else {
                throw .invalid("subnet \(requested) is not IPv4", hint: "give an IPv4 subnet such as 172.30.0.0/16", parameter: "subnet")
            }
            // Before the overlap check: a reserved range (127/8, whose route is in the local
            // table) may overlap nothing the host routes.
            let requestedGateway = if let given = options.gateway { given } else { try IPAM.defaultGateway(for: requested) }
            try IPAM.validate(subnet: requested, gateway: requestedGateway)
            let clashes = if let adopted { taken.filter { $0.link != adopted.index } } else { taken }
            try SubnetPool.check(requested, against: clashes)
            subnet = requested
        } else if let adopted {
            // A subnet of Berth's choosing on a bridge it did not make would need a gateway
            // address added that nobody asked for, and a gateway is only taken with its subnet.
            throw BerthError(.invalidArgument,
                             "a network on bridge \(adopted.name), which Berth did not make, needs its subnet given: Berth picks none for a bridge that is not its own",
                             hint: "give the subnet the bridge carries (its address there is the gateway), or a subnet with the gateway address to add",
                             object: .bridge(adopted.name), parameter: "subnet", remedy: .give(parameter: "subnet"))
        } else {
            subnet = try SubnetPool.pick(avoiding: taken)
        }
        guard let adopted else {
            let gateway = if let given = options.gateway { given } else { try IPAM.defaultGateway(for: subnet) }
            try IPAM.validate(subnet: subnet, gateway: gateway)
            return IPv4Choice(subnet: subnet, gateway: gateway, gatewayPresent: nil)
        }
        let held = try host.netlink.addresses(of: .index(adopted.index), family: .ipv4).map(\.cidr)
        let gateway: IPv4Address
        if let given = options.gateway {
            gateway = given
        } else if let own = held.first(where: { $0.prefixLength == subnet.prefixLength && subnet.contains($0.address) }),
                  case .v4(let address) = own.address {
            gateway = address
        } else {
            // A subnet that is no subnet at all (host bits set, too small) is refused for that first.
            try IPAM.validate(subnet: subnet, gateway: try IPAM.defaultGateway(for: subnet))
            let holds = held.isEmpty ? "none" : held.map(\.description).joined(separator: ", ")
            throw BerthError(.invalidArgument,
                             "bridge \(adopted.name) holds no address in subnet \(subnet) (it holds \(holds)), and Berth adds an address to a bridge it did not make only when asked",
                             hint: "give the gateway address to add to the bridge, or a subnet the bridge carries an address in",
                             object: .bridge(adopted.name), parameter: "gateway", remedy: .give(parameter: "gateway"))
        }
        try IPAM.validate(subnet: subnet, gateway: gateway)
        let cidr = try CIDR(address: .v4(gateway), prefixLength: subnet.prefixLength)
        return IPv4Choice(subnet: subnet, gateway: gateway, gatewayPresent: held.contains(cidr))
    }

    /// A new network's MTU: the one given, else 1,500 — or on an adopted bridge its own, and
    /// a given one no larger. Its veths at a larger MTU than its other ports would send
    /// frames those ports drop (or, on a bridge with no other port, raise the bridge's MTU,
    /// which is its owner's); at a smaller one than the bridge's, they would send frames the
    /// LAN takes and receive ones they drop, a path MTU black hole.
    static func chooseMTU(_ options: NetworkOptions, adopted: Link?) throws(BerthError) -> Int {
        guard let adopted else { return options.mtu ?? NetworkOptions.defaultMTU }
        let bridgeMTU = Int(adopted.mtu)
        guard let mtu = options.mtu else {
            guard NetworkOptions.mtuRange.contains(bridgeMTU) else {
                throw BerthError(.unsupported, "bridge \(adopted.name) has MTU \(bridgeMTU), outside \(NetworkOptions.mtuRange.lowerBound)–\(NetworkOptions.mtuRange.upperBound)",
                                 hint: "give an MTU for the network", object: .bridge(adopted.name), parameter: "mtu")
            }
            return bridgeMTU
        }
        if mtu > bridgeMTU {
            throw BerthError(.invalidArgument, "MTU \(mtu) is above the MTU of bridge \(adopted.name) (\(bridgeMTU)), whose ports would drop the larger frames",
                             hint: "use an MTU of at most \(bridgeMTU), or leave it out to take the bridge's", object: .bridge(adopted.name), parameter: "mtu")
        }
        return mtu
    }
}
