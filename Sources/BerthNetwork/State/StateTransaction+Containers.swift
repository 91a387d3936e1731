public import BerthCore

extension StateTransaction {
    private static let containerColumns =
        "id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time, command, hostname, rootfs, status, created"

    /// Records a new container. Throws `.alreadyExists` naming the holder if its name or id
    /// is taken: the row is the name's reservation.
    public func insertContainer(_ container: ContainerRecord) throws(BerthError) {
        let db = try db()
        if let holder = try db.queryFirst("SELECT id FROM containers WHERE name = ?", [.text(container.name)], { row in row.text(0) }) {
            throw BerthError(.alreadyExists, "container name \"\(container.name)\" is already in use by container \(holder.prefix(12))",
                             hint: "choose another --name, or stop it with 'berth stop \(container.name)'")
        }
        if try self.container(id: container.id) != nil {
            throw BerthError(.alreadyExists, "container \(container.id) already exists")
        }
        try db.execute("INSERT INTO containers (\(Self.containerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(container.id), .text(container.name), container.endpointID.map(SQLValue.text) ?? .null, .text(container.network),
            .int(container.pid), .bits(container.startTime), .int(container.supervisorPID), .bits(container.supervisorStartTime),
            .text(JSONValue.array(container.command.map(JSONValue.string)).render()), .text(container.hostname),
            container.rootfs.map(SQLValue.text) ?? .null, .text(container.status.rawValue), .integer(container.created),
        ])
    }

    /// Marks a container as running. Throws `.notFound` if it has no row.
    public func setContainerStatus(id: String, _ status: ContainerRecord.Status) throws(BerthError) {
        let changed = try db().execute("UPDATE containers SET status = ? WHERE id = ?", [.text(status.rawValue), .text(id)])
        guard changed == 1 else { throw BerthError(.notFound, "no container with id \(id)") }
    }

    /// The container with exactly this id, or nil.
    public func container(id: String) throws(BerthError) -> ContainerRecord? {
        try db().queryFirst("SELECT \(Self.containerColumns) FROM containers WHERE id = ?", [.text(id)], Self.decodeContainer)
    }

    /// The container with this name or, failing that, the only one whose id starts with it.
    /// Throws `.notFound` if none matches and `.conflict` if the prefix is ambiguous.
    public func container(matching nameOrID: String) throws(BerthError) -> ContainerRecord {
        let db = try db()
        if let named = try db.queryFirst("SELECT \(Self.containerColumns) FROM containers WHERE name = ?", [.text(nameOrID)], Self.decodeContainer) {
            return named
        }
        let matches = nameOrID.isEmpty ? [] : try db.query(
            "SELECT \(Self.containerColumns) FROM containers WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 2", [.text(nameOrID)],
            Self.decodeContainer)
        switch matches.count {
        case 0: throw BerthError(.notFound, "no container named \"\(nameOrID)\"", hint: "list containers with 'berth ps'")
        case 1: return matches[0]
        default: throw BerthError(.conflict, "container id prefix \"\(nameOrID)\" is ambiguous", hint: "give the container's name")
        }
    }

    /// Every container, oldest first.
    public func containers() throws(BerthError) -> [ContainerRecord] {
        try db().query("SELECT \(Self.containerColumns) FROM containers ORDER BY created, name", [], Self.decodeContainer)
    }

    /// Removes a container's row and returns whether there was one.
    @discardableResult
    public func deleteContainer(id: String) throws(BerthError) -> Bool {
        try db().execute("DELETE FROM containers WHERE id = ?", [.text(id)]) == 1
    }

    private static func decodeContainer(_ row: borrowing Row) throws(BerthError) -> ContainerRecord {
        let id = row.text(0)
        let commandText = row.text(8)
        let command = (try? JSONValue(parsing: commandText))?.arrayValue?.compactMap(\.stringValue) ?? []
        let statusText = row.text(11)
        guard !command.isEmpty, let status = ContainerRecord.Status(rawValue: statusText) else {
            throw BerthError(.state, "state database: container \(id) has an unreadable command or status",
                             hint: "the state database was changed outside berth; 'berth gc' removes containers that are gone")
        }
        return ContainerRecord(
            id: id, name: row.text(1), endpointID: row.isNull(2) ? nil : row.text(2), network: row.text(3),
            pid: Int32(truncatingIfNeeded: row.int64(4)), startTime: row.bits(5),
            supervisorPID: Int32(truncatingIfNeeded: row.int64(6)), supervisorStartTime: row.bits(7),
            command: command, hostname: row.text(9), rootfs: row.isNull(10) ? nil : row.text(10),
            status: status, created: row.int64(12))
    }
}
