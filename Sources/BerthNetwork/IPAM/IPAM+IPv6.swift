public import BerthCore

/// IPv6 address management for a network's IPv6 subnet.
///
/// No bitmap over a /64's 2^64 addresses: as for IPv4, leases are the endpoints' own rows,
/// read in order, and a new endpoint takes the lowest free address from the start of the
/// subnet, so one pass over the leases (stopping at the first gap) is all it costs. The
/// subnet-router anycast address (all host bits zero, RFC 4291 section 2.6.1) is never
/// handed out; IPv6 has no broadcast address.
extension IPAM {
    /// The shortest prefix a network may have: any IPv6 prefix.
    /// The longest: a /126 holds the anycast address, the gateway and two endpoints.
    public static let longestIPv6Prefix = 126

    /// Ranges no network may use, with why, for errors.
    static let reservedIPv6: [(CIDR, String)] = [
        ("::/128", "the unspecified address"), ("::1/128", "the loopback address"), ("::ffff:0:0/96", "IPv4-mapped addresses"),
        ("fe80::/10", "link-local addresses"), ("ff00::/8", "multicast addresses"),
    ].compactMap { text, what in CIDR(text).map { ($0, what) } }

    /// Checks an IPv6 subnet and gateway for a new network: IPv6, host bits clear, /126 or
    /// shorter, clear of reserved ranges, and a gateway inside it that is not its
    /// subnet-router anycast address.
    public static func validateIPv6(subnet: CIDR, gateway: IPv6Address) throws(BerthError) {
        guard subnet.family == .ipv6 else {
            throw .invalid("subnet \(subnet) is not IPv6", hint: "give an IPv6 subnet such as fd00:1::/64", parameter: "ipv6Subnet")
        }
        guard subnet.address == subnet.networkAddress else {
            throw .invalid("IPv6 subnet \(subnet) has host bits set", hint: "use \(subnet.network)", parameter: "ipv6Subnet")
        }
        guard subnet.prefixLength <= longestIPv6Prefix else {
            throw .invalid("IPv6 subnet \(subnet) is too small for a network",
                           hint: "use a prefix of /\(longestIPv6Prefix) or shorter (a /64 is usual): it needs a gateway and at least one endpoint",
                           parameter: "ipv6Subnet")
        }
        if let (range, what) = reservedIPv6.first(where: { $0.0.overlaps(subnet) }) {
            throw .invalid("IPv6 subnet \(subnet) overlaps \(range) (\(what))", hint: "use a unique local (fd00::/8) or global prefix",
                           parameter: "ipv6Subnet")
        }
        guard subnet.contains(.v6(gateway)) else {
            throw .invalid("IPv6 gateway \(gateway) is not inside subnet \(subnet)", hint: "choose a gateway inside the subnet, or leave it out",
                           parameter: "ipv6Gateway")
        }
        guard IPAddress.v6(gateway) != subnet.networkAddress else {
            throw .invalid("IPv6 gateway \(gateway) is the subnet-router anycast address of \(subnet)",
                           hint: "choose another address, or leave the gateway out", parameter: "ipv6Gateway")
        }
    }

    /// The gateway a network gets when none is given: the first address after the
    /// subnet-router anycast address (`fd00:1::1` in `fd00:1::/64`).
    public static func defaultIPv6Gateway(for subnet: CIDR) -> IPv6Address? {
        subnet.host(1)?.ipv6
    }

    /// The lowest address of `subnet` (of `range` inside it, if given) that is neither the
    /// subnet's anycast address, nor `gateway`, nor in `excluded` (auxiliary addresses), nor
    /// in `leased` (ascending, as the state's index returns them); nil when every address is
    /// taken.
    public static func lowestFreeIPv6(in subnet: CIDR, gateway: IPv6Address, leased: [IPv6Address],
                                      range: AddressRange? = nil, excluded: Set<IPv6Address> = []) -> IPv6Address? {
        guard case .v6(let first) = subnet.networkAddress, case .v6(let last) = subnet.lastAddress, first.value < last.value else { return nil }
        var candidate = first.value + 1
        var end = last.value
        if let range, range.family == .ipv6 {
            candidate = max(candidate, range.bounds.lowerBound)
            end = min(end, range.bounds.upperBound)
            guard candidate <= end else { return nil }
        }
        var index = 0
        while true {
            while index < leased.count, leased[index].value < candidate { index += 1 }
            let taken = candidate == gateway.value || (index < leased.count && leased[index].value == candidate)
                || (!excluded.isEmpty && excluded.contains(IPv6Address(candidate)))
            if !taken { return IPv6Address(candidate) }
            if candidate == end { return nil }
            candidate += 1
        }
    }

    /// Checks an address asked for (`--ip6`): inside the subnet, not its anycast address,
    /// not the gateway. Whether another endpoint holds it is the caller's question.
    public static func checkRequestedIPv6(_ address: IPv6Address, subnet: CIDR, gateway: IPv6Address, network: String) throws(BerthError) {
        let hint = "choose another address inside \(subnet), or leave it out to get a free one"
        guard subnet.contains(.v6(address)) else {
            throw .invalid("IPv6 address \(address) is not inside subnet \(subnet) of network \"\(network)\"", hint: hint, parameter: "ipv6Address")
        }
        if IPAddress.v6(address) == subnet.networkAddress {
            throw .invalid("IPv6 address \(address) is the subnet-router anycast address of \(subnet)", hint: hint, parameter: "ipv6Address")
        }
        if address == gateway {
            throw BerthError(.conflict, "IPv6 address \(address) is the gateway of network \"\(network)\" (subnet \(subnet))", hint: hint,
                             parameter: "ipv6Address", remedy: .chooseAnother(parameter: "ipv6Address"))
        }
    }
}

extension IPAM {
    /// Picks the IPv6 address for a new endpoint of `network`: nil on an IPv4-only network
    /// (where asking for one is refused naming the network), else `requested` after
    /// checking it is usable and free, else the lowest free address of the IPv6 subnet.
    /// Runs in the transaction that inserts the endpoint, as `allocate` does.
    public static func allocateIPv6(_ tx: StateTransaction, network: NetworkRecord, requested: IPv6Address?) throws(BerthError) -> IPv6Address? {
        guard let subnet = network.ipv6Subnet, let gateway = network.ipv6Gateway else {
            if let requested {
                throw BerthError(.invalidArgument, "network \"\(network.name)\" has no IPv6 subnet: IPv6 address \(requested) cannot be given",
                                 hint: "leave the IPv6 address out, or attach to a dual-stack network", object: .network(network.name),
                                 parameter: "ipv6Address")
            }
            return nil
        }
        if let requested {
            try checkRequestedIPv6(requested, subnet: subnet, gateway: gateway, network: network.name)
            try refuseAuxiliary(.v6(requested), of: network)
            if let holder = try tx.ipv6AddressHolder(requested, network: network.name) {
                throw BerthError(.conflict, "IPv6 address \(requested) in subnet \(subnet) of network \"\(network.name)\" is already leased to endpoint \(holder)",
                                 hint: "choose another address, or leave it out to get a free one",
                                 object: .endpoint(holder), parameter: "ipv6Address", remedy: .chooseAnother(parameter: "ipv6Address"))
            }
            return requested
        }
        var excluded: Set<IPv6Address> = []
        for case .v6(let address) in network.auxiliaryAddresses.values { excluded.insert(address) }
        guard let free = lowestFreeIPv6(in: subnet, gateway: gateway, leased: try tx.leasedIPv6Addresses(network: network.name),
                                        range: network.ipv6Range, excluded: excluded) else {
            if let range = network.ipv6Range {
                throw BerthError(.conflict, "no free IPv6 address left in range \(range) of network \"\(network.name)\" (subnet \(subnet))",
                                 hint: "detach an endpoint, give the endpoint an IPv6 address of the subnet outside the range, or create a network with a larger range",
                                 object: .network(network.name))
            }
            throw BerthError(.conflict, "no free IPv6 address left in subnet \(subnet) of network \"\(network.name)\"",
                             hint: "detach an endpoint, or create a network with a larger IPv6 subnet", object: .network(network.name))
        }
        return free
    }
}
