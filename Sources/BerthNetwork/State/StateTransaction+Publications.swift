public import BerthCore
import BerthNamespace

extension StateTransaction {
    /// The columns of `publications` in table order (`insertColumnOrder` ties the two).
    static let publicationColumns = "id, grp, ipv4, netns_path, netns_dev, netns_ino, host_link, created, ipv6"
    private static let publicationPortColumns = "publication, protocol, host_address, host_port, container_port"

    /// Records a publication together with its ports.
    ///
    /// Throws `.alreadyExists` for an id an endpoint or a publication has, and `.conflict`
    /// naming the holder for a port key an endpoint or another publication holds.
    package func insertPublication(_ publication: PublicationRecord) throws(BerthError) {
        let db = try db()
        let publicationExists = try self.publication(id: publication.id) != nil
        let endpointExists = try endpoint(id: publication.id) != nil
        if publicationExists || endpointExists {
            throw BerthError(.alreadyExists, "id \(publication.id) is already in use", object: .publication(publication.id), parameter: "id",
                             remedy: .chooseAnother(parameter: "id"))
        }
        try db.execute("INSERT INTO publications (\(Self.publicationColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(publication.id), .text(publication.group), publication.address.map { .int($0.value) } ?? .null, .text(publication.namespacePath),
            .bits(publication.namespaceIdentity.device), .bits(publication.namespaceIdentity.inode),
            publication.hostLink.map { .text($0.rawValue) } ?? .null, .integer(publication.created),
            publication.ipv6Address.map { .blob($0.bytes) } ?? .null,
        ])
        for mapping in publication.ports {
            guard mapping.endpointID == publication.id else {
                throw BerthError(.internalError, "port mapping \(mapping) names \(mapping.endpointID), not publication \(publication.id)")
            }
            if let owner = try portHolder(mapping.key) {
                throw BerthError(.conflict, "port \(mapping.key) is already published by \(owner)", object: .port(mapping.key.description),
                                 operation: .publish, parameter: "ports", remedy: .remove(owner))
            }
            try db.execute("INSERT INTO publication_ports (\(Self.publicationPortColumns)) VALUES (?, ?, ?, ?, ?)", [
                .text(publication.id), .text(mapping.proto.rawValue), .text(mapping.hostAddress.description),
                .int(mapping.hostPort), .int(mapping.containerPort),
            ])
        }
    }

    /// The publication with exactly this id, or nil.
    public func publication(id: String) throws(BerthError) -> PublicationRecord? {
        guard var record = try db().queryFirst("SELECT \(Self.publicationColumns) FROM publications WHERE id = ?", [.text(id)],
                                               Self.decodePublication) else { return nil }
        record.ports = try db().query("SELECT \(Self.publicationPortColumns) FROM publication_ports WHERE publication = ? ORDER BY protocol, host_port, host_address",
                                      [.text(id)], Self.decodePortMapping)
        return record
    }

    /// Every publication, or those of one group, ordered by group then id.
    public func publications(group: String? = nil) throws(BerthError) -> [PublicationRecord] {
        let db = try db()
        let filter = group == nil ? "" : " WHERE grp = ?"
        let values: [SQLValue] = group.map { [.text($0)] } ?? []
        var records = try db.query("SELECT \(Self.publicationColumns) FROM publications\(filter) ORDER BY grp, id", values, Self.decodePublication)
        guard !records.isEmpty else { return [] }
        var ports: [String: [PortMappingRecord]] = [:]
        try db.forEach("SELECT \(Self.publicationPortColumns) FROM publication_ports ORDER BY protocol, host_port, host_address", []) { row throws(BerthError) in
            let mapping = try Self.decodePortMapping(row)
            ports[mapping.endpointID, default: []].append(mapping)
        }
        for index in records.indices { records[index].ports = ports[records[index].id] ?? [] }
        return records
    }

    /// Removes a publication and its ports; returns what it was, or nil if there was none.
    @discardableResult
    package func deletePublication(id: String) throws(BerthError) -> PublicationRecord? {
        guard let record = try publication(id: id) else { return nil }
        // ON DELETE CASCADE removes its ports.
        try db().execute("DELETE FROM publications WHERE id = ?", [.text(id)])
        return record
    }

    /// Who holds a key that clashes with `key` (`PortKey.clashes(with:)`), among endpoints
    /// and publications: the endpoint or the publication, or nil.
    public func portHolder(_ key: PortKey) throws(BerthError) -> BerthError.Object? {
        func clash(_ other: PortMappingRecord) -> Bool { other.key.clashes(with: key) }
        let holders = try portHolders(proto: key.proto, hostPort: key.hostPort)
        if let endpoint = holders.mappings.first(where: clash) { return .endpoint(endpoint.endpointID) }
        return holders.publications.first(where: clash).map { .publication($0.endpointID) }
    }

    /// The publications' ports of `proto`/`hostPort` on any host address.
    public func publicationPorts(proto: TransportProtocol, hostPort: UInt16) throws(BerthError) -> [PortMappingRecord] {
        try db().query("SELECT \(Self.publicationPortColumns) FROM publication_ports WHERE protocol = ? AND host_port = ? ORDER BY host_address",
                       [.text(proto.rawValue), .int(hostPort)], Self.decodePortMapping)
    }

    /// The publication ports of `proto` whose host port is in `hostPorts`, in ascending
    /// host-port order: `publicationPorts(proto:hostPort:)` for a whole range at once.
    public func publicationPorts(proto: TransportProtocol, hostPorts: ClosedRange<UInt16>) throws(BerthError) -> [PortMappingRecord] {
        try db().query("SELECT \(Self.publicationPortColumns) FROM publication_ports WHERE protocol = ? AND host_port BETWEEN ? AND ? ORDER BY host_port, host_address",
                       [.text(proto.rawValue), .int(hostPorts.lowerBound), .int(hostPorts.upperBound)], Self.decodePortMapping)
    }

    private static func decodePublication(_ row: borrowing Row) throws(BerthError) -> PublicationRecord {
        let id = row.text(0)
        var hostLink: InterfaceName?
        if !row.isNull(6) {
            let text = row.text(6)
            guard let name = try? InterfaceName(text) else {
                throw BerthError(.state, "state database: publication \(id) has an unreadable host link \"\(text)\"", object: .publication(id))
            }
            hostLink = name
        }
        var address: IPv4Address?
        if !row.isNull(2) {
            // Checked, as an endpoint's is: a hand edit's out-of-range value is named, never wrapped
            // into another address whose elements would forward elsewhere.
            guard let value = UInt32(exactly: row.int64(2)) else {
                throw BerthError(.state, "state database: publication \(id) has an unreadable address \"\(row.int64(2))\"", object: .publication(id))
            }
            address = IPv4Address(value)
        }
        var ipv6: IPv6Address?
        if !row.isNull(8) {
            guard let read = IPv6Address(bytes: row.blob(8)) else {
                throw BerthError(.state, "state database: publication \(id) has an unreadable IPv6 address", object: .publication(id))
            }
            ipv6 = read
        }
        return PublicationRecord(id: id, group: row.text(1), address: address, ipv6Address: ipv6,
                                 namespacePath: row.text(3), namespaceIdentity: NamespaceIdentity(device: row.bits(4), inode: row.bits(5)),
                                 hostLink: hostLink, created: row.int64(7))
    }
}
