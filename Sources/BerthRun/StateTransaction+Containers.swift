import BerthCore
import BerthNetwork

/// Container rows, in BerthRun's own tables (see `ContainerSchema`). Call them through a
/// store that `NetworkManager.containerStore()` prepared.
extension StateTransaction {
    private static let containerColumns =
        "id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time, hostname, rootfs, status, created"

    /// Records a new container. Throws `.alreadyExists` naming the holder if its name or id
    /// is taken: the row is the name's reservation.
    func insertContainer(_ container: ContainerRecord) throws(BerthError) {
        let db = try db()
        if let holder = try db.queryFirst("SELECT id FROM containers WHERE name = ?", [.text(container.name)], { row in row.text(0) }) {
            throw BerthError(.alreadyExists, "container name \"\(container.name)\" is already in use by container \(holder.prefix(12))",
                             object: .container(container.name), operation: .run, parameter: "name", remedy: .chooseAnother(parameter: "name"))
        }
        if try self.container(id: container.id) != nil {
            throw BerthError(.alreadyExists, "container \(container.id) already exists", object: .container(container.id), operation: .run, parameter: "id")
        }
        try db.execute("INSERT INTO containers (\(Self.containerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(container.id), .text(container.name), container.endpointID.map(SQLValue.text) ?? .null, .text(container.network),
            .int(container.pid), .bits(container.startTime), .int(container.supervisorPID), .bits(container.supervisorStartTime),
            .text(container.hostname), container.rootfs.map(SQLValue.text) ?? .null, .text(container.status.rawValue), .integer(container.created),
        ])
        try insertArguments(container.command, container: container.id)
    }

    /// Stores a command, one row per argument.
    func insertArguments(_ arguments: [String], container id: String) throws(BerthError) {
        let db = try db()
        for (position, argument) in arguments.enumerated() {
            try db.execute("INSERT INTO container_args (container, position, arg) VALUES (?, ?, ?)", [.text(id), .int(position), .text(argument)])
        }
    }

    /// Marks a container as running. Throws `.notFound` if it has no row.
    func setContainerStatus(id: String, _ status: ContainerRecord.Status) throws(BerthError) {
        let changed = try db().execute("UPDATE containers SET status = ? WHERE id = ?", [.text(status.rawValue), .text(id)])
        guard changed == 1 else { throw BerthError(.notFound, "no container with id \(id)", object: .container(id)) }
    }

    /// The container with exactly this id, or nil.
    func container(id: String) throws(BerthError) -> ContainerRecord? {
        guard let row = try db().queryFirst("SELECT \(Self.containerColumns) FROM containers WHERE id = ?", [.text(id)], Self.decodeContainer) else {
            return nil
        }
        return try withArguments(row)
    }

    /// The container with this name or, failing that, the only one whose id starts with it.
    /// Throws `.notFound` if none matches and `.conflict` if the prefix is ambiguous.
    func container(matching nameOrID: String) throws(BerthError) -> ContainerRecord {
        let db = try db()
        if let named = try db.queryFirst("SELECT \(Self.containerColumns) FROM containers WHERE name = ?", [.text(nameOrID)], Self.decodeContainer) {
            return try withArguments(named)
        }
        let matches = nameOrID.isEmpty ? [] : try db.query(
            "SELECT \(Self.containerColumns) FROM containers WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 2", [.text(nameOrID)],
            Self.decodeContainer)
        switch matches.count {
        case 0:
            throw BerthError(.notFound, "no container named \"\(nameOrID)\"", object: .container(nameOrID), remedy: .listExisting(.container))
        case 1:
            return try withArguments(matches[0])
        default:
            throw BerthError(.conflict, "container id prefix \"\(nameOrID)\" is ambiguous", hint: "give the container's name",
                             object: .container(nameOrID))
        }
    }

    /// Every container, oldest first.
    func containers() throws(BerthError) -> [ContainerRecord] {
        let db = try db()
        var arguments: [String: [String]] = [:]
        try db.forEach("SELECT container, arg FROM container_args ORDER BY container, position") { row in
            arguments[row.text(0), default: []].append(row.text(1))
        }
        return try db.query("SELECT \(Self.containerColumns) FROM containers ORDER BY created, name", [], Self.decodeContainer).map {
            (container) throws(BerthError) -> ContainerRecord in
            var container = container
            container.command = arguments[container.id] ?? []
            try Self.requireCommand(container)
            return container
        }
    }

    /// Removes a container's row (and its arguments) and returns whether there was one.
    @discardableResult
    func deleteContainer(id: String) throws(BerthError) -> Bool {
        try db().execute("DELETE FROM containers WHERE id = ?", [.text(id)]) == 1
    }

    private func withArguments(_ container: ContainerRecord) throws(BerthError) -> ContainerRecord {
        var container = container
        container.command = try db().query("SELECT arg FROM container_args WHERE container = ? ORDER BY position", [.text(container.id)]) { row in
            row.text(0)
        }
        try Self.requireCommand(container)
        return container
    }

    /// A container always has a command; a row without one was changed outside Berth.
    private static func requireCommand(_ container: ContainerRecord) throws(BerthError) {
        guard container.command.isEmpty else { return }
        throw BerthError(.state, "state database: container \(container.id) has no command", hint: "the state database was changed by hand",
                         object: .container(container.name))
    }

    /// A row without its arguments (the caller adds them). Integers are checked, never trapped on.
    private static func decodeContainer(_ row: borrowing Row) throws(BerthError) -> ContainerRecord {
        let id = row.text(0)
        let statusText = row.text(10)
        guard let status = ContainerRecord.Status(rawValue: statusText),
              let pid = Int32(exactly: row.int64(4)), pid > 0,
              let supervisorPID = Int32(exactly: row.int64(6)), supervisorPID > 0 else {
            throw BerthError(.state, "state database: container \(id) has an unreadable status or process id", hint: "the state database was changed by hand",
                             object: .container(id))
        }
        return ContainerRecord(
            id: id, name: row.text(1), endpointID: row.isNull(2) ? nil : row.text(2), network: row.text(3),
            pid: pid, startTime: row.bits(5), supervisorPID: supervisorPID, supervisorStartTime: row.bits(7),
            command: [], hostname: row.text(8), rootfs: row.isNull(9) ? nil : row.text(9),
            status: status, created: row.int64(11))
    }
}
