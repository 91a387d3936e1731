public import BerthCore

extension StateTransaction {
    static func portColumns(_ table: String) -> String {
        "\(table).endpoint, \(table).protocol, \(table).host_address, \(table).host_port, \(table).container_port"
    }

    /// Records one published port of an existing endpoint.
    ///
    /// The key (protocol, host address, host port) has a single owner: a second claim throws
    /// `.conflict` naming the endpoint that holds it.
    package func insertPortMapping(_ mapping: PortMappingRecord) throws(BerthError) {
        let db = try db()
        do {
            // The values in the table's column order (`portColumns`; a test holds the two
            // together): a column list costs the prepare a name lookup per column (perf8).
            try db.execute("INSERT INTO port_mappings VALUES (?, ?, ?, ?, ?)", [
                .text(mapping.endpointID), .text(mapping.proto.rawValue), .text(mapping.hostAddress.description),
                .int(mapping.hostPort), .int(mapping.containerPort),
            ])
        } catch {
            guard let cause = error.cause as? SQLiteError, cause.isConstraintViolation else { throw error }
            if let owner = try portOwner(mapping.key) {
                // The owner as `berth ps` shows it (a generated id by its first 12 digits, which `berth detach` takes).
                let shown = EndpointShortID.display(owner.endpointID)
                let who = owner.endpointID == mapping.endpointID ? "the same endpoint \(shown) (listed twice)" : "endpoint \(shown)"
                throw BerthError(.conflict, "port \(mapping.key) is already published by \(who)",
                                 hint: "choose another host port, or detach \(shown) first", object: .port(mapping.key.description),
                                 parameter: "ports", remedy: .chooseAnother(parameter: "ports"), cause: cause)
            }
            if try endpoint(id: mapping.endpointID) == nil {
                throw BerthError(.notFound, "no endpoint with id \"\(mapping.endpointID)\" to publish \(mapping.key) for", cause: cause)
            }
            throw BerthError(.invalidArgument, "port mapping \(mapping) is out of range", hint: "ports go from 1 to 65535", parameter: "ports", cause: cause)
        }
    }

    /// Records the published ports of an existing endpoint, as `insertPortMapping` does one
    /// by one: each run of mappings on one protocol and host address whose host and
    /// container ports both go up by one (a published range; on a dual-stack network the
    /// IPv4 and IPv6 mappings of a range interleave, each family its own run) is written by
    /// one statement, so a thousand ports are not a thousand statements. A run the store
    /// refuses is written again one row at a time, for the error `insertPortMapping` gives.
    func insertPortMappings(_ mappings: [PortMappingRecord]) throws(BerthError) {
        guard mappings.count > 1 else {
            if let mapping = mappings.first { try insertPortMapping(mapping) }
            return
        }
        // Open runs: the first mapping of each and its length, in two lists (few: one per
        // protocol and host address; not an array of tuples, whose type a process would
        // look up on first use).
        var firsts: [PortMappingRecord] = []
        var counts: [Int] = []
        for mapping in mappings {
            if let index = counts.indices.first(where: { Self.extends(firsts[$0], counts[$0], with: mapping) }) {
                counts[index] += 1
                continue
            }
            if let index = firsts.firstIndex(where: { $0.key.proto == mapping.key.proto && $0.key.hostAddress == mapping.key.hostAddress }) {
                try insertRun(firsts[index], count: counts[index])
                firsts[index] = mapping
                counts[index] = 1
            } else {
                firsts.append(mapping)
                counts.append(1)
            }
        }
        for index in firsts.indices { try insertRun(firsts[index], count: counts[index]) }
    }

    /// Whether `mapping` is the next of the run that starts at `first` and has `count` mappings.
    private static func extends(_ first: PortMappingRecord, _ count: Int, with mapping: PortMappingRecord) -> Bool {
        mapping.endpointID == first.endpointID && mapping.key.proto == first.key.proto && mapping.key.hostAddress == first.key.hostAddress
            && Int(mapping.key.hostPort) == Int(first.key.hostPort) + count && Int(mapping.containerPort) == Int(first.containerPort) + count
    }

    /// Writes the run of `count` mappings that starts at `first` (see `insertPortMappings`).
    private func insertRun(_ first: PortMappingRecord, count: Int) throws(BerthError) {
        guard count > 1 else { return try insertPortMapping(first) }
        do {
            // A failing statement undoes only its own rows: the transaction goes on.
            try db().execute("""
                WITH RECURSIVE run(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM run WHERE i + 1 < ?6)
                INSERT INTO port_mappings (endpoint, protocol, host_address, host_port, container_port)
                SELECT ?1, ?2, ?3, ?4 + i, ?5 + i FROM run
                """, [
                .text(first.endpointID), .text(first.proto.rawValue), .text(first.hostAddress.description),
                .int(first.hostPort), .int(first.containerPort), .int(count),
            ])
        } catch {
            guard let cause = error.cause as? SQLiteError, cause.isConstraintViolation else { throw error }
            for offset in 0..<count {
                try insertPortMapping(PortMappingRecord(endpointID: first.endpointID, proto: first.proto, hostAddress: first.hostAddress,
                                                        hostPort: first.hostPort + UInt16(offset), containerPort: first.containerPort + UInt16(offset)))
            }
        }
    }

    /// The mapping that owns `key`, whose `endpointID` names its endpoint; nil if it is free.
    public func portOwner(_ key: PortKey) throws(BerthError) -> PortMappingRecord? {
        try db().queryFirst(
            "SELECT \(Self.portColumns("p")) FROM port_mappings p WHERE protocol = ? AND host_port = ? AND host_address = ?",
            [.text(key.proto.rawValue), .int(key.hostPort), .text(key.hostAddress.description)], Self.decodePortMapping)
    }

    /// Every mapping of `proto`/`hostPort` on any host address: what a wildcard (`0.0.0.0`)
    /// publication would clash with, or a specific one under an existing wildcard.
    public func portMappings(proto: TransportProtocol, hostPort: UInt16) throws(BerthError) -> [PortMappingRecord] {
        try db().query(
            "SELECT \(Self.portColumns("p")) FROM port_mappings p WHERE protocol = ? AND host_port = ? ORDER BY host_address",
            [.text(proto.rawValue), .int(hostPort)], Self.decodePortMapping)
    }

    /// Every holder of `proto`/`hostPort` on any host address: the endpoints' mappings and the
    /// publications' ports, each in host-address order — `portMappings(proto:hostPort:)` and
    /// `publicationPorts(proto:hostPort:)` in one statement, cheaper to prepare than the two
    /// (perf8). Each half's rows come in its primary key's order, which the sort makes sure of.
    func portHolders(proto: TransportProtocol, hostPort: UInt16) throws(BerthError) -> PortHolders {
        var holders = PortHolders()
        try db().forEach("""
            SELECT endpoint, protocol, host_address, host_port, container_port, 0 FROM port_mappings WHERE protocol = ?1 AND host_port = ?2 \
            UNION ALL SELECT publication, protocol, host_address, host_port, container_port, 1 FROM publication_ports WHERE protocol = ?1 AND host_port = ?2
            """, [.text(proto.rawValue), .int(hostPort)]) { row throws(BerthError) in
            if row.int(5) == 0 {
                holders.mappings.append(try Self.decodePortMapping(row))
            } else {
                holders.publications.append(try Self.decodePortMapping(row))
            }
        }
        holders.mappings.sort { $0.key.hostAddress.description < $1.key.hostAddress.description }
        holders.publications.sort { $0.key.hostAddress.description < $1.key.hostAddress.description }
        return holders
    }

    /// Every mapping of `proto` whose host port is in `hostPorts`, on any host address, in
    /// ascending host-port order: `portMappings(proto:hostPort:)` for a whole range at once.
    public func portMappings(proto: TransportProtocol, hostPorts: ClosedRange<UInt16>) throws(BerthError) -> [PortMappingRecord] {
        try db().query(
            "SELECT \(Self.portColumns("p")) FROM port_mappings p WHERE protocol = ? AND host_port BETWEEN ? AND ? ORDER BY host_port, host_address",
            [.text(proto.rawValue), .int(hostPorts.lowerBound), .int(hostPorts.upperBound)], Self.decodePortMapping)
    }

    /// The published ports of one endpoint, ordered by protocol, host port and host address.
    public func portMappings(endpoint id: String) throws(BerthError) -> [PortMappingRecord] {
        // No ORDER BY, which cost every detach 26 K instructions of prepare (perf8): the
        // index on `endpoint` holds the primary key (protocol, host_port, host_address) after
        // it, so the rows come in that order; the check below makes sure of it.
        var mappings = try db().query("SELECT endpoint, protocol, host_address, host_port, container_port FROM port_mappings WHERE endpoint = ?", [.text(id)], Self.decodePortMapping)
        if mappings.indices.dropFirst().contains(where: { Self.storeOrder(mappings[$0], mappings[$0 - 1]) }) {
            mappings.sort(by: Self.storeOrder)
        }
        return mappings
    }

    /// Whether `a` comes before `b` in the port tables' key order: protocol, host port, host
    /// address, each as SQLite compares the stored values.
    static func storeOrder(_ a: PortMappingRecord, _ b: PortMappingRecord) -> Bool {
        if a.key.proto != b.key.proto { return a.key.proto.rawValue < b.key.proto.rawValue }
        if a.key.hostPort != b.key.hostPort { return a.key.hostPort < b.key.hostPort }
        return a.key.hostAddress.description < b.key.hostAddress.description
    }

    static func decodePortMapping(_ row: borrowing Row) throws(BerthError) -> PortMappingRecord {
        let endpoint = row.text(0), protoText = row.text(1), addressText = row.text(2)
        guard let proto = TransportProtocol(rawValue: protoText), let address = IPAddress(addressText),
              let hostPort = UInt16(exactly: row.int64(3)), hostPort > 0,
              let containerPort = UInt16(exactly: row.int64(4)), containerPort > 0 else {
            throw BerthError(.state, "state database: endpoint \(endpoint) has an unreadable port mapping \(protoText) \(addressText):\(row.int64(3))->\(row.int64(4))",
                             hint: "the state database was changed outside Berth; detach the endpoint and attach it again",
                             object: .endpoint(endpoint))
        }
        return PortMappingRecord(endpointID: endpoint, proto: proto, hostAddress: address,
                                 hostPort: hostPort, containerPort: containerPort)
    }
}

/// What `StateTransaction.portHolders` found on one protocol and host port.
struct PortHolders {
    /// The endpoints' mappings, in host-address order.
    var mappings: [PortMappingRecord] = []
    /// The publications' ports (`endpointID` names the publication), in host-address order.
    var publications: [PortMappingRecord] = []
}
