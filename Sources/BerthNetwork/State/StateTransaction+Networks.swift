public import BerthCore

extension StateTransaction {
    private static let networkColumns = "name, id, bridge, subnet, gateway, mtu, internal, created, bridge_adopted, gateway_added, ipv6_subnet, ipv6_gateway, dns, dns_upstreams, phase, ip_range, ipv6_range, aux_addresses"

    /// Records a new network.
    ///
    /// Throws `.alreadyExists` if the name or id is taken and `.conflict` naming the other
    /// network if its bridge is.
    package func insertNetwork(_ network: NetworkRecord) throws(BerthError) {
        let db = try db()
        if try self.network(named: network.name) != nil {
            throw BerthError(.alreadyExists, "network \"\(network.name)\" already exists",
                             hint: "choose another name, or remove that network first",
                             object: .network(network.name), parameter: "name", remedy: .chooseAnother(parameter: "name"))
        }
        if let other = try db.queryFirst("SELECT name FROM networks WHERE bridge = ?", [.text(network.bridge.rawValue)], { row in row.text(0) }) {
            throw BerthError(.conflict, "bridge \(network.bridge) is already used by network \"\(other)\"",
                             hint: "choose another bridge name", object: .bridge(network.bridge.rawValue),
                             parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
        }
        if let other = try db.queryFirst("SELECT name FROM networks WHERE id = ?", [.text(network.id)], { row in row.text(0) }) {
            throw BerthError(.alreadyExists, "network id \(network.id) is already used by network \"\(other)\"")
        }
        guard (network.ipv6Subnet == nil) == (network.ipv6Gateway == nil), (network.subnet == nil) == (network.gateway == nil) else {
            throw BerthError(.internalError, "network \"\(network.name)\" has a subnet without a gateway, or a gateway without a subnet")
        }
        guard network.hasIPv4 || network.hasIPv6 else {
            throw BerthError(.internalError, "network \"\(network.name)\" has neither an IPv4 nor an IPv6 subnet")
        }
        try db.execute("INSERT INTO networks (\(Self.networkColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(network.name), .text(network.id), .text(network.bridge.rawValue),
            network.subnet.map { .text($0.description) } ?? .null, network.gateway.map { .text($0.description) } ?? .null,
            .int(network.mtu), .bool(network.isInternal), .integer(network.created),
            .bool(network.bridgeAdopted), .bool(network.gatewayAdded),
            network.ipv6Subnet.map { .text($0.description) } ?? .null, network.ipv6Gateway.map { .text($0.description) } ?? .null,
            .bool(network.dns), network.dnsUpstreams.isEmpty ? .null : .text(network.dnsUpstreams.joined(separator: ",")),
            network.phase == .ready ? .null : .text(network.phase.rawValue),
            network.ipRange.map { .text($0.description) } ?? .null, network.ipv6Range.map { .text($0.description) } ?? .null,
            network.auxiliaryAddresses.isEmpty ? .null : .text(Self.encodeAuxiliary(network.auxiliaryAddresses)),
        ])
    }

    /// The network called `name`, or nil.
    public func network(named name: String) throws(BerthError) -> NetworkRecord? {
        try db().queryFirst("SELECT \(Self.networkColumns) FROM networks WHERE name = ?", [.text(name)], Self.decodeNetwork)
    }

    /// The network called `name`; throws `.notFound` naming it if there is none.
    public func requireNetwork(named name: String) throws(BerthError) -> NetworkRecord {
        guard let network = try network(named: name) else {
            throw BerthError(.notFound, "no network named \"\(name)\"", object: .network(name), parameter: "network",
                             remedy: .listExisting(.network))
        }
        return network
    }

    /// Whether `name` is a network with DNS on (false for an unknown one).
    public func networkHasDNS(_ name: String) throws(BerthError) -> Bool {
        try db().queryFirst("SELECT dns FROM networks WHERE name = ?", [.text(name)]) { row in row.bool(0) } ?? false
    }

    /// Whether any network has DNS on: the resolver has something to serve.
    public func anyNetworkHasDNS() throws(BerthError) -> Bool {
        try db().queryFirst("SELECT 1 FROM networks WHERE dns = 1 LIMIT 1", []) { _ in true } ?? false
    }

    /// Whether an endpoint is attached to a network with DNS on: the resolver must run.
    public func anyDNSEndpoint() throws(BerthError) -> Bool {
        try db().queryFirst("SELECT 1 FROM endpoints e JOIN networks n ON n.name = e.network WHERE n.dns = 1 LIMIT 1", []) { _ in true } ?? false
    }

    /// A comma-separated column as its items.
    static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init)
    }

    /// Every network, by name.
    public func networks() throws(BerthError) -> [NetworkRecord] {
        try db().query("SELECT \(Self.networkColumns) FROM networks ORDER BY name", [], Self.decodeNetwork)
    }

    /// Records that Berth put the gateway address on the network's (adopted) bridge, so that
    /// removing the network takes it away again.
    package func setGatewayAdded(network name: String) throws(BerthError) {
        try db().execute("UPDATE networks SET gateway_added = 1 WHERE name = ?", [.text(name)])
    }

    /// Sets the phase of the network called `name` (`NetworkRecord.Phase`).
    public func setPhase(_ phase: NetworkRecord.Phase, network name: String) throws(BerthError) {
        try db().execute("UPDATE networks SET phase = ? WHERE name = ?", [phase == .ready ? .null : .text(phase.rawValue), .text(name)])
    }

    /// Removes the network called `name` and returns what it was.
    ///
    /// Throws `.notFound` if there is none and `.conflict` while endpoints are still attached.
    @discardableResult
    package func deleteNetwork(named name: String) throws(BerthError) -> NetworkRecord {
        let network = try requireNetwork(named: name)
        let attached = try endpointCount(network: name)
        guard attached == 0 else {
            throw BerthError(.conflict, "network \"\(name)\" still has \(attached) endpoint\(attached == 1 ? "" : "s") attached",
                             hint: "detach its endpoints first", object: .network(name), remedy: .detachEndpoints)
        }
        try db().execute("DELETE FROM networks WHERE name = ?", [.text(name)])
        return network
    }

    private static func decodeNetwork(_ row: borrowing Row) throws(BerthError) -> NetworkRecord {
        let name = row.text(0)
        func corrupt(_ field: String, _ value: String) -> BerthError {
            BerthError(.state, "state database: network \"\(name)\" has an unreadable \(field) \"\(value)\"",
                       hint: "the state database was changed outside Berth; remove the network and create it again",
                       object: .network(name))
        }
        func phase(_ row: borrowing Row) throws(BerthError) -> NetworkRecord.Phase {
            guard let text = row.optionalText(14) else { return .ready }
            guard let phase = NetworkRecord.Phase(rawValue: text), phase != .ready else { throw corrupt("phase", text) }
            return phase
        }
        let bridgeText = row.text(2)
        guard let bridge = try? InterfaceName(bridgeText) else { throw corrupt("bridge", bridgeText) }
        var subnet: CIDR?, gateway: IPv4Address?
        if !row.isNull(3) {
            let subnetText = row.text(3), gatewayText = row.text(4)
            guard let parsed = CIDR(subnetText), parsed.family == .ipv4 else { throw corrupt("subnet", subnetText) }
            guard let parsedGateway = IPv4Address(gatewayText) else { throw corrupt("gateway", gatewayText) }
            (subnet, gateway) = (parsed, parsedGateway)
        }
        let mtu = row.int(5)
        guard NetworkOptions.mtuRange.contains(mtu) else { throw corrupt("MTU", "\(mtu)") }
        var ipv6Subnet: CIDR?, ipv6Gateway: IPv6Address?
        if !row.isNull(10) {
            let subnetText = row.text(10), gatewayText = row.text(11)
            guard let subnet = CIDR(subnetText), subnet.family == .ipv6 else { throw corrupt("IPv6 subnet", subnetText) }
            guard let gateway = IPv6Address(gatewayText) else { throw corrupt("IPv6 gateway", gatewayText) }
            (ipv6Subnet, ipv6Gateway) = (subnet, gateway)
        }
        func range(_ row: borrowing Row, _ column: Int32, _ field: String, in subnet: CIDR?) throws(BerthError) -> AddressRange? {
            guard let text = row.optionalText(column) else { return nil }
            guard let range = AddressRange(text), let subnet, range.isInside(subnet) else { throw corrupt(field, text) }
            return range
        }
        let ipRange = try range(row, 15, "address range", in: subnet)
        let ipv6Range = try range(row, 16, "IPv6 address range", in: ipv6Subnet)
        var auxiliary: [String: IPAddress] = [:]
        if let text = row.optionalText(17) {
            guard let decoded = decodeAuxiliary(text),
                  decoded.values.allSatisfy({ address in [subnet, ipv6Subnet].contains { $0?.contains(address) == true } }) else {
                throw corrupt("auxiliary addresses", text)
            }
            auxiliary = decoded
        }
        return NetworkRecord(name: name, id: row.text(1), bridge: bridge, subnet: subnet, gateway: gateway,
                             mtu: mtu, isInternal: row.bool(6), created: row.int64(7), bridgeAdopted: row.bool(8), gatewayAdded: row.bool(9),
                             ipv6Subnet: ipv6Subnet, ipv6Gateway: ipv6Gateway,
                             dns: row.bool(12), dnsUpstreams: row.optionalText(13).map(Self.splitList) ?? [], phase: try phase(row),
                             ipRange: ipRange, ipv6Range: ipv6Range, auxiliaryAddresses: auxiliary)
    }

    /// The `aux_addresses` column's text: `NAME=ADDRESS` items in name order, joined by ','.
    static func encodeAuxiliary(_ addresses: [String: IPAddress]) -> String {
        addresses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The `aux_addresses` column's items; nil for text `encodeAuxiliary` cannot have written
    /// (an item without '=' or with an empty name, an unreadable address, a name twice). The
    /// grammar is the column's own, not today's rule for names: a rule tightened later must
    /// not make stored rows unreadable (and every command that lists networks with them).
    static func decodeAuxiliary(_ text: String) -> [String: IPAddress]? {
        var addresses: [String: IPAddress] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty,
                  let address = IPAddress(String(parts[1])), addresses[String(parts[0])] == nil else { return nil }
            addresses[String(parts[0])] = address
        }
        return addresses
    }
}
