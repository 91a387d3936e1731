public import BerthCore
import BerthNamespace

extension StateTransaction {
    static let endpointColumns = "id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created, detaching, ipv6, name, aliases"

    /// Records a new endpoint together with its port mappings.
    ///
    /// The address should come from `IPAM.allocate` in this same transaction; the store checks
    /// it again all the same. Throws `.notFound` for an unknown network, `.alreadyExists` for a
    /// taken id, and `.conflict` naming the holder for a taken address, host veth or port.
    package func insertEndpoint(_ endpoint: EndpointRecord) throws(BerthError) {
        let db = try db()
        let network = try requireNetwork(named: endpoint.network)
        if try idHolders(endpoint.id).endpoint {
            throw BerthError(.alreadyExists, "endpoint \(endpoint.id) already exists",
                             hint: "choose another id, or detach that endpoint first",
                             object: .endpoint(endpoint.id), parameter: "id", remedy: .chooseAnother(parameter: "id"))
        }
        // The values in the table's column order (`endpointColumns`; a test holds the two
        // together): a column list costs the prepare a name lookup per column (perf8).
        let insert = "INSERT INTO endpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        // The rule schema version 8's triggers kept (version 10 dropped them, perf8), checked
        // where they checked it, just before the row is written, with the error they raised.
        let familiesDiffer = (endpoint.address == nil) != (network.subnet == nil) || (endpoint.ipv6Address == nil) != (network.ipv6Subnet == nil)
        // The address and host veth are UNIQUE in the table, so the lookups that name their
        // holder run only when the INSERT would not otherwise be reached, or was refused: the
        // errors and their order are those of checking first, without preparing two
        // statements on every attach (perf8).
        if endpoint.hasNames || familiesDiffer {
            try checkLeases(of: endpoint)
            if endpoint.hasNames { try checkNames(of: endpoint, on: network) }
        }
        if familiesDiffer {
            throw .sqlite("step", sql: insert, SQLiteError(code: SQLiteError.constraintTrigger,
                                                          message: "an endpoint needs an address of each family of its network, and no other"))
        }
        do {
            try db.execute(insert, [
                .text(endpoint.id), .text(endpoint.network), .text(endpoint.namespacePath),
                .bits(endpoint.namespaceIdentity.device), .bits(endpoint.namespaceIdentity.inode),
                .text(endpoint.interfaceName.rawValue), .text(endpoint.hostVeth.rawValue),
                endpoint.address.map { .int($0.value) } ?? .null, .text(endpoint.mac.description), .integer(endpoint.created),
                .bool(endpoint.isDetaching), endpoint.ipv6Address.map { .blob($0.bytes) } ?? .null,
                endpoint.name.map { .text($0) } ?? .null,
                endpoint.aliases.isEmpty ? .null : .text(endpoint.aliases.joined(separator: ",")),
            ])
        } catch {
            guard !endpoint.hasNames, let cause = error.cause as? SQLiteError, cause.isConstraintViolation else { throw error }
            try checkLeases(of: endpoint)
            throw error
        }
        for mapping in endpoint.ports where mapping.endpointID != endpoint.id {
            throw BerthError(.internalError, "port mapping \(mapping) names endpoint \(mapping.endpointID), not \(endpoint.id)")
        }
        try insertPortMappings(endpoint.ports)
    }

    /// Throws `.conflict` naming the holder of the endpoint's IPv4 address, IPv6 address or
    /// host veth, checked in that order; returns when none is taken.
    private func checkLeases(of endpoint: EndpointRecord) throws(BerthError) {
        if let address = endpoint.address, let holder = try addressHolder(address, network: endpoint.network) {
            throw BerthError(.conflict, "address \(address) in network \"\(endpoint.network)\" is already leased to endpoint \(holder)",
                             hint: "choose another address, or leave it out to get a free one",
                             object: .endpoint(holder), parameter: "address", remedy: .chooseAnother(parameter: "address"))
        }
        if let ipv6 = endpoint.ipv6Address, let holder = try ipv6AddressHolder(ipv6, network: endpoint.network) {
            throw BerthError(.conflict, "address \(ipv6) in network \"\(endpoint.network)\" is already leased to endpoint \(holder)",
                             hint: "choose another address, or leave it out to get a free one",
                             object: .endpoint(holder), parameter: "ipv6Address", remedy: .chooseAnother(parameter: "ipv6Address"))
        }
        if let holder = try db().queryFirst("SELECT id FROM endpoints WHERE host_veth = ?", [.text(endpoint.hostVeth.rawValue)], { row in row.text(0) }) {
            throw BerthError(.conflict, "host veth \(endpoint.hostVeth) is already used by endpoint \(holder)")
        }
    }

    /// What holds `id` among endpoints and publications, whose ids share one namespace: one
    /// statement, where reading both records took two, each dearer to prepare (perf8).
    func idHolders(_ id: String) throws(BerthError) -> IDHolders {
        var holders = IDHolders()
        try db().forEach("SELECT detaching FROM endpoints WHERE id = ?1 UNION ALL SELECT 2 FROM publications WHERE id = ?1", [.text(id)]) { row in
            switch row.int(0) {
            case 2: holders.publication = true
            case let detaching: holders.endpoint = true; holders.endpointIsDetaching = detaching == 1
            }
        }
        return holders
    }

    /// The endpoint with exactly this id, or nil.
    public func endpoint(id: String) throws(BerthError) -> EndpointRecord? {
        guard var endpoint = try db().queryFirst("SELECT \(Self.endpointColumns) FROM endpoints WHERE id = ?", [.text(id)], Self.decodeEndpoint) else {
            return nil
        }
        endpoint.ports = try portMappings(endpoint: id)
        return endpoint
    }

    /// The endpoint whose id is `idOrPrefix` or, failing that, the one generated id it is
    /// the short form of (`EndpointShortID`: 12 or more of its hex digits).
    ///
    /// Throws `.notFound` if none matches and `.conflict` listing them if several do.
    public func endpoint(matching idOrPrefix: String) throws(BerthError) -> EndpointRecord {
        if let exact = try endpoint(id: idOrPrefix) { return exact }
        if let short = try endpoint(shortID: idOrPrefix) { return short }
        throw BerthError(.notFound, "no endpoint with id \"\(idOrPrefix)\"", object: .endpoint(idOrPrefix), parameter: "id",
                         remedy: .listExisting(.endpoint))
    }

    /// `endpoint(matching:)` with `acceptingShortID`, else the endpoint with exactly this id;
    /// `.notFound` when there is none.
    public func endpoint(_ id: String, acceptingShortID: Bool) throws(BerthError) -> EndpointRecord {
        if acceptingShortID { return try endpoint(matching: id) }
        if let exact = try endpoint(id: id) { return exact }
        throw BerthError(.notFound, "no endpoint with id \"\(id)\"", object: .endpoint(id), parameter: "id",
                         remedy: .listExisting(.endpoint))
    }

    /// The endpoint with a generated id that `short` is the start of, under `EndpointShortID`'s
    /// rule; nil when `short` is not such a start or none matches. Throws `.conflict` listing
    /// them if several do.
    public func endpoint(shortID short: String) throws(BerthError) -> EndpointRecord? {
        guard EndpointShortID.isPrefix(short) else { return nil }
        let matches = try db().query("""
            SELECT id FROM endpoints WHERE length(id) = 64 AND substr(id, 1, length(?1)) = ?1 AND id NOT GLOB '*[^0-9a-f]*'
            ORDER BY id LIMIT 6
            """, [.text(short)]) { row in row.text(0) }
        switch matches.count {
        case 0:
            return nil
        case 1:
            guard let found = try endpoint(id: matches[0]) else {
                throw BerthError(.internalError, "endpoint \(matches[0]) vanished inside a transaction")
            }
            return found
        default:
            let shown = matches.prefix(5).joined(separator: ", ")
            throw BerthError(.conflict, "endpoint id prefix \"\(short)\" is ambiguous: it matches \(shown)\(matches.count > 5 ? ", ..." : "")",
                             hint: "give more of the id", object: .endpoint(short), parameter: "id")
        }
    }

    /// Every endpoint, or those of one network, ordered by network then address.
    public func endpoints(network: String? = nil) throws(BerthError) -> [EndpointRecord] {
        let db = try db()
        var endpoints: [EndpointRecord]
        var mappings: [String: [PortMappingRecord]] = [:]
        let collect = { (mapping: PortMappingRecord) in mappings[mapping.endpointID, default: []].append(mapping) }
        if let network {
            endpoints = try db.query("SELECT \(Self.endpointColumns) FROM endpoints WHERE network = ? ORDER BY ipv4, ipv6", [.text(network)], Self.decodeEndpoint)
            // One query for all mappings of the network, not one per endpoint.
            try db.forEach("""
                SELECT \(Self.portColumns("p")) FROM port_mappings p JOIN endpoints e ON e.id = p.endpoint
                WHERE e.network = ? ORDER BY p.protocol, p.host_port, p.host_address
                """, [.text(network)]) { row throws(BerthError) in collect(try Self.decodePortMapping(row)) }
        } else {
            endpoints = try db.query("SELECT \(Self.endpointColumns) FROM endpoints ORDER BY network, ipv4, ipv6", [], Self.decodeEndpoint)
            try db.forEach("SELECT \(Self.portColumns("p")) FROM port_mappings p ORDER BY p.protocol, p.host_port, p.host_address", []) { row throws(BerthError) in
                collect(try Self.decodePortMapping(row))
            }
        }
        if !mappings.isEmpty {
            for index in endpoints.indices {
                endpoints[index].ports = mappings[endpoints[index].id] ?? []
            }
        }
        return endpoints
    }

    /// Every endpoint, leniently: those whose rows decode (with their ports, as
    /// `endpoints()`), and those whose rows do not (changed outside Berth), each with what a
    /// teardown by tag needs and why it is unreadable. One query when every row decodes.
    package func endpointsLeniently() throws(BerthError) -> (readable: [EndpointRecord], unreadable: [UnreadableEndpoint]) {
        do throws(BerthError) {
            return (try endpoints(), [])
        } catch where error.code == .state {
            // One row (or more) cannot be decoded: each is read on its own.
        }
        var readable: [EndpointRecord] = []
        var unreadable: [UnreadableEndpoint] = []
        for id in try db().query("SELECT id FROM endpoints ORDER BY network, ipv4, ipv6", [], { row in row.text(0) }) {
            do throws(BerthError) {
                if let endpoint = try endpoint(id: id) { readable.append(endpoint) }
            } catch where error.code == .state {
                if let row = try unreadableEndpoint(id: id, error: error) { unreadable.append(row) }
            }
        }
        return (readable, unreadable)
    }

    /// Endpoint `id`'s row read as raw text, for a row `endpoint(id:)` cannot decode
    /// (`error`, its refusal); nil if there is no such row.
    package func unreadableEndpoint(id: String, error: BerthError) throws(BerthError) -> UnreadableEndpoint? {
        try db().queryFirst("SELECT id, network, netns_path, host_veth, detaching, ifname FROM endpoints WHERE id = ?", [.text(id)]) { row in
            UnreadableEndpoint(id: row.text(0), network: row.text(1), namespacePath: row.text(2), hostVeth: row.text(3),
                               interfaceName: row.text(5), isDetaching: row.bool(4), error: error)
        }
    }

    /// Deletes endpoint `id`'s row (its lease and port mappings with it) without decoding
    /// it: for a row that cannot be decoded. Returns whether there was one.
    package func deleteEndpointRow(id: String) throws(BerthError) -> Bool {
        try db().execute("DELETE FROM endpoints WHERE id = ?", [.text(id)]) > 0
    }

    /// The ids of the endpoints attached to `network`, in address order, without decoding
    /// their rows (so a row changed outside Berth counts too).
    package func endpointIDs(network: String) throws(BerthError) -> [String] {
        try db().query("SELECT id FROM endpoints WHERE network = ? ORDER BY ipv4, ipv6", [.text(network)]) { row in row.text(0) }
    }

    /// How many endpoints are attached to `network`.
    public func endpointCount(network: String) throws(BerthError) -> Int {
        try db().queryFirst("SELECT count(*) FROM endpoints WHERE network = ?", [.text(network)]) { row in row.int(0) } ?? 0
    }

    /// The number of endpoints of every network that has any, by network name.
    public func endpointCounts() throws(BerthError) -> [String: Int] {
        var counts: [String: Int] = [:]
        try db().forEach("SELECT network, count(*) FROM endpoints GROUP BY network", []) { row in
            counts[row.text(0)] = row.int(1)
        }
        return counts
    }

    /// The id of the endpoint holding `address` in `network`, or nil if it is free.
    public func addressHolder(_ address: IPv4Address, network: String) throws(BerthError) -> String? {
        try db().queryFirst("SELECT id FROM endpoints WHERE network = ? AND ipv4 = ?", [.text(network), .int(address.value)]) { row in row.text(0) }
    }

    /// The id of the endpoint holding the IPv6 `address` in `network`, or nil if it is free.
    public func ipv6AddressHolder(_ address: IPv6Address, network: String) throws(BerthError) -> String? {
        try db().queryFirst("SELECT id FROM endpoints WHERE network = ? AND ipv6 = ?", [.text(network), .blob(address.bytes)]) { row in row.text(0) }
    }

    /// The IPv6 addresses leased in `network`, in ascending order (the index's memcmp order
    /// of the 16 big-endian bytes is the numeric one).
    public func leasedIPv6Addresses(network: String) throws(BerthError) -> [IPv6Address] {
        try db().query("SELECT ipv6 FROM endpoints WHERE network = ? AND ipv6 IS NOT NULL ORDER BY ipv6", [.text(network)]) { row throws(BerthError) in
            guard let address = IPv6Address(bytes: row.blob(0)) else {
                throw BerthError(.state, "state database: network \"\(network)\" has an endpoint with an unreadable IPv6 address",
                                 hint: "the state database was changed outside Berth", object: .network(network))
            }
            return address
        }
    }

    /// Marks the endpoint as being detached: from now on it is only ever finished, never used.
    package func markDetaching(id: String) throws(BerthError) {
        try db().execute("UPDATE endpoints SET detaching = 1 WHERE id = ?", [.text(id)])
    }

    /// Clears the mark an attach commits its record with (`NetworkManager.attach`): the
    /// endpoint is whole, in use from this transaction's commit on.
    func markAttached(id: String) throws(BerthError) {
        try db().execute("UPDATE endpoints SET detaching = 0 WHERE id = ?", [.text(id)])
    }

    /// Removes the endpoint (its lease and port mappings with it) and returns what it was,
    /// so the caller knows what to tear down. Throws `.notFound` if there is none.
    @discardableResult
    package func deleteEndpoint(id: String) throws(BerthError) -> EndpointRecord {
        guard let endpoint = try endpoint(id: id) else {
            throw BerthError(.notFound, "no endpoint with id \"\(id)\"", object: .endpoint(id), parameter: "id",
                             remedy: .listExisting(.endpoint))
        }
        // ON DELETE CASCADE removes its port mappings.
        try db().execute("DELETE FROM endpoints WHERE id = ?", [.text(id)])
        return endpoint
    }

    private static func decodeEndpoint(_ row: borrowing Row) throws(BerthError) -> EndpointRecord {
        let id = row.text(0)
        func corrupt(_ field: String, _ value: String) -> BerthError {
            BerthError(.state, "state database: endpoint \(id) has an unreadable \(field) \"\(value)\"",
                       hint: "the state database was changed outside Berth; detach the endpoint and attach it again",
                       object: .endpoint(id))
        }
        let ifnameText = row.text(5), vethText = row.text(6), macText = row.text(8)
        guard let ifname = try? InterfaceName(ifnameText) else { throw corrupt("interface name", ifnameText) }
        guard let veth = try? InterfaceName(vethText) else { throw corrupt("host veth", vethText) }
        guard let mac = MACAddress(macText) else { throw corrupt("MAC address", macText) }
        let identity = NamespaceIdentity(device: row.bits(3), inode: row.bits(4))
        var address: IPv4Address?
        if !row.isNull(7) {
            guard let value = UInt32(exactly: row.int64(7)) else { throw corrupt("address", "\(row.int64(7))") }
            address = IPv4Address(value)
        }
        var ipv6: IPv6Address?
        if !row.isNull(11) {
            let bytes = row.blob(11)
            guard let parsed = IPv6Address(bytes: bytes) else { throw corrupt("IPv6 address", bytes.map { String($0, radix: 16) }.joined(separator: " ")) }
            ipv6 = parsed
        }
        return EndpointRecord(id: id, network: row.text(1), namespacePath: row.text(2), namespaceIdentity: identity,
                              interfaceName: ifname, hostVeth: veth, address: address,
                              mac: mac, created: row.int64(9), isDetaching: row.bool(10), ipv6Address: ipv6,
                              name: row.optionalText(12), aliases: row.optionalText(13).map(splitList) ?? [])
    }
}

/// An endpoint row the state cannot decode (changed outside Berth: a MAC, interface name or
/// address that does not parse), as far as it can be read: enough to tear the endpoint down
/// by its tag and forget it.
package struct UnreadableEndpoint: Sendable {
    /// The endpoint's id.
    package var id: String
    /// The network's name, as recorded.
    package var network: String
    /// The namespace path, as recorded.
    package var namespacePath: String
    /// The host veth's name, as recorded (possibly not a valid interface name).
    package var hostVeth: String
    /// The interface name in the namespace, as recorded (possibly not a valid one).
    package var interfaceName: String
    /// Whether a detach of it had begun.
    package var isDetaching: Bool
    /// Why the row cannot be decoded.
    package var error: BerthError
}

/// What `StateTransaction.idHolders` found holding an id.
struct IDHolders {
    /// Whether an endpoint has the id.
    var endpoint = false
    /// Whether that endpoint's detach has begun.
    var endpointIsDetaching = false
    /// Whether a publication has the id.
    var publication = false
}
