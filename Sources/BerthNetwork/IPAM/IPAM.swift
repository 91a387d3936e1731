public import BerthCore

/// IPv4 address management for endpoints: leases are the endpoints' own rows, so an address
/// is held exactly as long as its endpoint is recorded.
///
/// `allocate` must run inside the `StateStore.write` transaction that then inserts the
/// endpoint: the transaction's lock is what makes "find a free address, take it" atomic
/// across processes. Calling it twice before inserting returns the same address.
public enum IPAM {
    /// Picks the address for a new endpoint of `network`: `requested` after checking it is
    /// usable and free, else the lowest free address of the subnet.
    ///
    /// Never returns the network address, the broadcast address, the gateway or one of
    /// `hostAddresses` — the host's own addresses on an adopted bridge, which the caller
    /// reads for such a network only (a bridge Berth made holds just the gateway). Throws
    /// `.invalidArgument` for a requested address that no endpoint may have, and `.conflict`
    /// naming the holder for a leased one or the host's address, or naming the subnet when
    /// none is left. nil on an IPv6-only network, where a requested address is refused
    /// naming the network.
    public static func allocate(_ tx: StateTransaction, network: NetworkRecord, requested: IPv4Address? = nil,
                                hostAddresses: [CIDR] = []) throws(BerthError) -> IPv4Address? {
        guard let (subnet, gatewayAddress) = network.ipv4 else {
            if let requested {
                throw BerthError(.invalidArgument, "network \"\(network.name)\" is IPv6-only: IPv4 address \(requested) cannot be given",
                                 hint: "leave the IPv4 address out, or attach to a network with IPv4", object: .network(network.name),
                                 parameter: "address")
            }
            return nil
        }
        let range = try hostRange(of: subnet)
        let held = hostHeld(hostAddresses, in: range)
        if let requested {
            try checkRequested(requested, network: network.name, subnet: subnet, gateway: gatewayAddress, range: range)
            if let own = held.first(where: { $0.value == UInt64(requested.value) }) {
                throw BerthError(.conflict, "address \(requested) is the host's own: \(own.cidr) on bridge \(network.bridge) of network \"\(network.name)\"",
                                 hint: "choose another address, or leave it out to get a free one",
                                 object: .network(network.name), parameter: "address", remedy: .chooseAnother(parameter: "address"))
            }
            try refuseAuxiliary(.v4(requested), of: network)
            if let holder = try tx.addressHolder(requested, network: network.name) {
                throw BerthError(.conflict, "address \(requested) in subnet \(subnet) of network \"\(network.name)\" is already leased to endpoint \(holder)",
                                 hint: "choose another address, or leave it out to get a free one",
                                 object: .endpoint(holder), parameter: "address", remedy: .chooseAnother(parameter: "address"))
            }
            return requested
        }
        // The leased addresses arrive sorted from the (network, ipv4) index: one query, then
        // one pass that stops at the first gap, however many endpoints the network has. Only
        // the network's address range (`ipRange`, else the subnet) is walked.
        let gateway = UInt64(gatewayAddress.value)
        if let pool = pool(of: network, hosts: range) {
            var candidate = pool.lowerBound
            let leased = try tx.leasedAddresses(network: network.name, in: pool)
            var skipped = Set(held.map { $0.value })
            if !network.auxiliaryAddresses.isEmpty {
                for case .v4(let address) in network.auxiliaryAddresses.values { skipped.insert(UInt64(address.value)) }
            }
            var index = 0
            while candidate <= pool.upperBound {
                if candidate == gateway || (!skipped.isEmpty && skipped.contains(candidate)) {
                    candidate += 1
                } else if index < leased.count, leased[index] <= candidate {
                    if leased[index] == candidate { candidate += 1 }
                    index += 1
                } else {
                    return IPv4Address(UInt32(candidate))
                }
            }
        }
        let room = try capacity(network: network, subnet: subnet, gateway: gatewayAddress, hostAddresses: hostAddresses)
        throw BerthError(.conflict, exhausted(network, subnet: subnet, capacity: room),
                         hint: network.ipRange == nil ? "detach an endpoint, or create a network with a larger subnet"
                             : "detach an endpoint, give the endpoint an address of the subnet outside the range, or create a network with a larger range",
                         object: .network(network.name))
    }

    /// The addresses an endpoint asking for none may get, as numbers: the subnet's host
    /// addresses (`hosts`) inside the network's address range, if it has one. nil when the
    /// two do not meet (a create refuses such a range).
    static func pool(of network: NetworkRecord, hosts: ClosedRange<UInt64>) -> ClosedRange<UInt64>? {
        guard let ipRange = network.ipRange else { return hosts }
        let low = max(hosts.lowerBound, UInt64(clamping: ipRange.bounds.lowerBound))
        let high = min(hosts.upperBound, UInt64(clamping: ipRange.bounds.upperBound))
        return low <= high ? low...high : nil
    }

    /// Refuses an address asked for that is one of the network's auxiliary addresses
    /// (libnetwork reserves them: asking for one fails as an address in use).
    static func refuseAuxiliary(_ address: IPAddress, of network: NetworkRecord) throws(BerthError) {
        guard !network.auxiliaryAddresses.isEmpty,
              let name = network.auxiliaryAddresses.filter({ $0.value == address }).keys.min() else { return }
        let parameter = address.family == .ipv4 ? "address" : "ipv6Address"
        throw BerthError(.conflict, "address \(address) is auxiliary address \(name) of network \"\(network.name)\", which no endpoint may have",
                         hint: "choose another address, or leave it out to get a free one",
                         object: .network(network.name), parameter: parameter, remedy: .chooseAnother(parameter: parameter))
    }

    /// The host's addresses among `hostAddresses` inside `range`, as numbers.
    private static func hostHeld(_ hostAddresses: [CIDR], in range: ClosedRange<UInt64>) -> [(value: UInt64, cidr: CIDR)] {
        hostAddresses.compactMap { cidr in
            guard case .v4(let address) = cidr.address, range.contains(UInt64(address.value)) else { return nil }
            return (UInt64(address.value), cidr)
        }
    }

    /// How many addresses endpoints asking for none may get on a network — the host
    /// addresses of its address range (else of its subnet) less the gateway,
    /// `hostAddresses` (the host's on an adopted bridge) and its auxiliary addresses — and
    /// how many of those the host holds besides the gateway, and how many more are auxiliary.
    static func capacity(network: NetworkRecord, subnet: CIDR, gateway: IPv4Address,
                         hostAddresses: [CIDR]) throws(BerthError) -> (usable: Int, host: Int, auxiliary: Int) {
        guard let pool = pool(of: network, hosts: try hostRange(of: subnet)) else { return (0, 0, 0) }
        let gatewayValue = UInt64(gateway.value)
        let host = Set(hostHeld(hostAddresses, in: pool).map { $0.value }).subtracting([gatewayValue])
        var auxiliary: Set<UInt64> = []
        for case .v4(let address) in network.auxiliaryAddresses.values where pool.contains(UInt64(address.value)) {
            auxiliary.insert(UInt64(address.value))
        }
        auxiliary.subtract(host.union([gatewayValue]))
        let usable = Int(pool.upperBound - pool.lowerBound + 1) - (pool.contains(gatewayValue) ? 1 : 0) - host.count - auxiliary.count
        return (usable, host.count, auxiliary.count)
    }

    /// What a network with no free address left says, the host's and auxiliary addresses
    /// counted apart.
    static func exhausted(_ network: NetworkRecord, subnet: CIDR, capacity: (usable: Int, host: Int, auxiliary: Int)) -> String {
        var apart: [String] = []
        if capacity.host > 0 { apart.append("\(capacity.host) more are the host's on bridge \(network.bridge)") }
        if capacity.auxiliary > 0 { apart.append("\(capacity.auxiliary) more are auxiliary addresses") }
        let notes = apart.isEmpty ? "" : " (\(apart.joined(separator: ", ")))"
        if let ipRange = network.ipRange {
            return "no free address left in range \(ipRange) of network \"\(network.name)\" (subnet \(subnet)): all \(capacity.usable) usable addresses of the range are leased\(notes)"
        }
        return "no free address left in subnet \(subnet) of network \"\(network.name)\": all \(capacity.usable) usable addresses are leased\(notes)"
    }

    /// The gateway a network gets when none is given: the first host of the subnet.
    public static func defaultGateway(for subnet: CIDR) throws(BerthError) -> IPv4Address {
        let range = try hostRange(of: subnet)
        return IPv4Address(UInt32(range.lowerBound))
    }

    /// IPv4 ranges no network may use, with why, for errors: a bridge address there is not
    /// routed as a network's (RFC 6890's special-purpose ranges that no host may number an
    /// interface in).
    static let reservedIPv4: [(CIDR, String)] = [
        ("0.0.0.0/8", "\"this network\", RFC 1122"), ("127.0.0.0/8", "loopback addresses"),
        ("224.0.0.0/4", "multicast addresses"), ("240.0.0.0/4", "reserved addresses and the broadcast address"),
    ].compactMap { text, what in CIDR(text).map { ($0, what) } }

    /// Checks a subnet and gateway for a new network: IPv4, host bits clear, clear of
    /// reserved ranges (`reservedIPv4`), room for the gateway and at least one endpoint, and
    /// a gateway that a host may hold.
    public static func validate(subnet: CIDR, gateway: IPv4Address) throws(BerthError) {
        guard subnet.family == .ipv4 else {
            throw .invalid("subnet \(subnet) is not IPv4", hint: "Berth networks use IPv4 subnets, like 10.88.0.0/16", parameter: "subnet")
        }
        guard subnet.address == subnet.networkAddress else {
            throw .invalid("subnet \(subnet) has host bits set", hint: "use \(subnet.network)", parameter: "subnet")
        }
        if let (range, what) = reservedIPv4.first(where: { $0.0.overlaps(subnet) }) {
            throw .invalid("subnet \(subnet) overlaps \(range) (\(what))",
                           hint: "use a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)", parameter: "subnet")
        }
        guard subnet.prefixLength <= 30 else {
            throw .invalid("subnet \(subnet) is too small for a network", hint: "use a prefix of /30 or shorter: it needs a gateway and at least one endpoint",
                           parameter: "subnet")
        }
        let range = try hostRange(of: subnet)
        guard subnet.contains(.v4(gateway)) else {
            throw .invalid("gateway \(gateway) is not inside subnet \(subnet)", hint: "choose a gateway inside the subnet, or leave it out",
                           parameter: "gateway")
        }
        guard range.contains(UInt64(gateway.value)) else {
            let what = UInt64(gateway.value) < range.lowerBound ? "network" : "broadcast"
            throw .invalid("gateway \(gateway) is the \(what) address of subnet \(subnet)", hint: "choose a host address, or leave the gateway out",
                           parameter: "gateway")
        }
    }

    /// The first and last address a host may have in `subnet`, as numbers. A /31 or /32 has
    /// no network or broadcast address to skip (RFC 3021).
    static func hostRange(of subnet: CIDR) throws(BerthError) -> ClosedRange<UInt64> {
        guard subnet.family == .ipv4, case .v4(let base) = subnet.networkAddress, case .v4(let last) = subnet.lastAddress else {
            throw .invalid("subnet \(subnet) is not IPv4", hint: "Berth networks use IPv4 subnets, like 10.88.0.0/16")
        }
        let skip: UInt64 = subnet.prefixLength < 31 ? 1 : 0
        return (UInt64(base.value) + skip)...(UInt64(last.value) - skip)
    }

    private static func checkRequested(_ address: IPv4Address, network: String, subnet: CIDR, gateway: IPv4Address,
                                       range: ClosedRange<UInt64>) throws(BerthError) {
        let hint = "choose another address inside \(subnet), or leave it out to get a free one"
        guard subnet.contains(.v4(address)) else {
            throw .invalid("address \(address) is not inside subnet \(subnet) of network \"\(network)\"", hint: hint, parameter: "address")
        }
        let value = UInt64(address.value)
        if value < range.lowerBound {
            throw .invalid("address \(address) is the network address of subnet \(subnet)", hint: hint, parameter: "address")
        }
        if value > range.upperBound {
            throw .invalid("address \(address) is the broadcast address of subnet \(subnet)", hint: hint, parameter: "address")
        }
        if address == gateway {
            throw BerthError(.conflict, "address \(address) is the gateway of network \"\(network)\" (subnet \(subnet))", hint: hint,
                             parameter: "address", remedy: .chooseAnother(parameter: "address"))
        }
    }
}

extension StateTransaction {
    /// The leased addresses of `network` inside `range`, ascending.
    func leasedAddresses(network: String, in range: ClosedRange<UInt64>) throws(BerthError) -> [UInt64] {
        try db().query("SELECT ipv4 FROM endpoints WHERE network = ? AND ipv4 BETWEEN ? AND ? ORDER BY ipv4",
                       [.text(network), .integer(Int64(range.lowerBound)), .integer(Int64(range.upperBound))]) { row in
            UInt64(row.int64(0))
        }
    }
}
