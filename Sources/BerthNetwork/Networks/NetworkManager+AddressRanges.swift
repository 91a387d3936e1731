import BerthCore

extension NetworkManager {
    /// Refuses an address range or auxiliary address given without the subnet of its
    /// family (as Docker does: each must lie in a subnet given with it), and a range of the
    /// wrong family. Runs before anything is made.
    static func refuseRangesWithoutSubnet(_ options: NetworkOptions) throws(BerthError) {
        try refuse(options.ipRange, of: .ipv4, subnet: options.subnet, network: options.name)
        try refuse(options.ipv6Range, of: .ipv6, subnet: options.ipv6Subnet, network: options.name)
        for (name, address) in options.auxiliaryAddresses.sorted(by: { $0.key < $1.key }) {
            try NetworkOptions.validate(auxiliaryName: name)
            let subnet = address.family == .ipv4 ? options.subnet : options.ipv6Subnet
            guard subnet != nil else {
                let family = address.family == .ipv4 ? "IPv4" : "IPv6"
                throw BerthError(.invalidArgument, "auxiliary address \(name)=\(address) is given without an \(family) subnet: it must lie in a subnet given with it",
                                 hint: "give the \(family) subnet that holds the address, or leave the address out", object: .network(options.name),
                                 parameter: "auxiliaryAddress", remedy: .give(parameter: address.family == .ipv4 ? "subnet" : "ipv6Subnet"))
            }
        }
    }

    /// Refuses `range` (the network's range of `family`, if any) when it is of the other
    /// family or given without a subnet of its family.
    private static func refuse(_ range: AddressRange?, of family: IPFamily, subnet: CIDR?, network: String) throws(BerthError) {
        guard let range else { return }
        let (name, other) = family == .ipv4 ? ("IPv4", "IPv6") : ("IPv6", "IPv4")
        let (label, parameter, subnetParameter) = family == .ipv4 ? ("address range", "ipRange", "subnet") : ("IPv6 address range", "ipv6Range", "ipv6Subnet")
        guard range.family == family else {
            throw .invalid("\(label) \(range) is not \(name)", hint: "give an \(other) range as the network's \(other) range", parameter: parameter)
        }
        guard subnet != nil else {
            throw BerthError(.invalidArgument, "\(label) \(range) is given without an \(name) subnet: a range needs the subnet it is in",
                             hint: "give the \(name) subnet that holds the range, or leave the range out", object: .network(network),
                             parameter: parameter, remedy: .give(parameter: subnetParameter))
        }
    }

    /// Checks a new network's ranges and auxiliary addresses against the subnets and
    /// gateways chosen: each range inside its subnet and holding at least one address an
    /// endpoint may have; each auxiliary address inside its family's subnet, not a gateway,
    /// and no address given twice.
    static func checkRanges(_ options: NetworkOptions, ipv4: (subnet: CIDR, gateway: IPv4Address)?,
                            ipv6: (subnet: CIDR, gateway: IPv6Address)?) throws(BerthError) {
        var named: [IPAddress: String] = [:]
        for (name, address) in options.auxiliaryAddresses.sorted(by: { $0.key < $1.key }) {
            let hint = "give an address of the subnet other than its gateway, or leave it out"
            let subnet: CIDR?, gateway: IPAddress?
            switch address {
            case .v4: (subnet, gateway) = (ipv4?.subnet, ipv4.map { .v4($0.gateway) })
            case .v6: (subnet, gateway) = (ipv6?.subnet, ipv6.map { .v6($0.gateway) })
            }
            guard let subnet, subnet.contains(address) else {
                let which = subnet.map { "subnet \($0)" } ?? "a subnet"
                throw BerthError(.invalidArgument, "auxiliary address \(name)=\(address) is not inside \(which) of network \"\(options.name)\"",
                                 hint: hint, object: .network(options.name), parameter: "auxiliaryAddress")
            }
            if address == gateway {
                throw BerthError(.invalidArgument, "auxiliary address \(name)=\(address) is the gateway of network \"\(options.name)\"",
                                 hint: hint, object: .network(options.name), parameter: "auxiliaryAddress")
            }
            if let other = named[address] {
                throw BerthError(.invalidArgument, "auxiliary addresses \(other) and \(name) are both \(address)",
                                 hint: "give each address once", object: .network(options.name), parameter: "auxiliaryAddress")
            }
            named[address] = name
        }
        let auxiliary = Set(named.keys.map(AddressRange.number))
        if let range = options.ipRange, let (subnet, gateway) = ipv4 {
            try checkRange(range, subnet: subnet, network: options.name, parameter: "ipRange") { () throws(BerthError) in
                let hosts = try IPAM.hostRange(of: subnet)
                let low = max(range.bounds.lowerBound, UInt128(hosts.lowerBound)), high = min(range.bounds.upperBound, UInt128(hosts.upperBound))
                guard low <= high else { return false }
                return Self.holdsAddress(low...high, except: auxiliary.union([UInt128(gateway.value)]))
            }
        }
        if let range = options.ipv6Range, let (subnet, gateway) = ipv6 {
            try checkRange(range, subnet: subnet, network: options.name, parameter: "ipv6Range") { () throws(BerthError) in
                Self.holdsAddress(range.bounds, except: auxiliary.union([AddressRange.number(subnet.networkAddress), gateway.value]))
            }
        }
    }

    private static func checkRange(_ range: AddressRange, subnet: CIDR, network: String, parameter: String,
                                   holdsAddress: () throws(BerthError) -> Bool) throws(BerthError) {
        guard range.isInside(subnet) else {
            throw BerthError(.invalidArgument, "address range \(range) is not inside subnet \(subnet) of network \"\(network)\"",
                             hint: "give a range inside the subnet", object: .network(network), parameter: parameter)
        }
        guard try holdsAddress() else {
            throw BerthError(.invalidArgument,
                             "address range \(range) of network \"\(network)\" holds no address an endpoint may have (it holds only the subnet's own, gateway or auxiliary addresses)",
                             hint: "give a larger range, or leave it out to use the whole subnet", object: .network(network), parameter: parameter)
        }
    }

    /// Whether `bounds` holds a number not in `excluded`, looking at no more than
    /// `excluded.count + 1` of them.
    static func holdsAddress(_ bounds: ClosedRange<UInt128>, except excluded: Set<UInt128>) -> Bool {
        if bounds.upperBound - bounds.lowerBound >= UInt128(excluded.count) { return true }
        var candidate = bounds.lowerBound
        while true {
            if !excluded.contains(candidate) { return true }
            if candidate == bounds.upperBound { return false }
            candidate += 1
        }
    }
}
