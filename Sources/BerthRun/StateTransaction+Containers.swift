import BerthCore
import BerthNetwork
import BerthNamespace

/// Container rows, in BerthRun's own tables (see `ContainerSchema`). Call them through a
/// store that `NetworkManager.containerStore()` prepared.
extension StateTransaction {
    private static let containerColumns = """
        id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time, hostname, rootfs, status, created,
        started, finished, exit_code, restart_count, stop_requested, settings, oom_killed, restart_requested, kill_at
        """

    /// Records a new container. Throws `.alreadyExists` naming the holder if its name or id
    /// is taken: the row is the name's reservation until the container is removed.
    func insertContainer(_ container: ContainerRecord) throws(BerthError) {
        let db = try db()
        if let holder = try db.queryFirst("SELECT id FROM containers WHERE name = ?", [.text(container.name)], { row in row.text(0) }) {
            throw BerthError(.alreadyExists, "container name \"\(container.name)\" is already in use by container \(holder.prefix(12))",
                             object: .container(container.name), operation: .run, parameter: "name", remedy: .chooseAnother(parameter: "name"))
        }
        if try self.container(id: container.id) != nil {
            throw BerthError(.alreadyExists, "container \(container.id) already exists", object: .container(container.id), operation: .run, parameter: "id")
        }
        try db.execute("INSERT INTO containers (\(Self.containerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(container.id), .text(container.name), container.endpointID.map(SQLValue.text) ?? .null, .text(container.network),
            container.process.map { .int($0.pid) } ?? .null, container.process.map { .bits($0.startTime) } ?? .null,
            container.supervisor.map { .int($0.pid) } ?? .null, container.supervisor.map { .bits($0.startTime) } ?? .null,
            .text(container.hostname), container.rootfs.map(SQLValue.text) ?? .null, .text(container.status.rawValue), .integer(container.created),
            container.started.map(SQLValue.integer) ?? .null, container.finished.map(SQLValue.integer) ?? .null,
            container.exitCode.map { .int(Int($0)) } ?? .null, .int(container.restartCount), .int(container.stopRequested ? 1 : 0),
            container.options.map { .text($0.json(includingCommand: false).render()) } ?? .null, .int(container.oomKilled ? 1 : 0),
            .int(container.restartRequested ? 1 : 0), container.killAt.map(SQLValue.integer) ?? .null,
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

    /// Sets a container's status alone. Throws `.notFound` if it has no row.
    func setContainerStatus(id: String, _ status: ContainerRecord.Status) throws(BerthError) {
        try update(id, "status = ?", [.text(status.rawValue)])
    }

    /// Its command runs as `process`: status running, started now, and the mark of a
    /// restart's stop cleared — only here, once the command really runs, so a start that
    /// fails before leaves a `--rm` container marked, kept for another start or `rm`.
    /// Refused when a stop was asked for meanwhile (the caller then kills the process it
    /// just started).
    func markRunning(id: String, process: ProcessIdentity, started: Int64) throws(BerthError) {
        let row = try requireContainer(id: id)
        if row.stopRequested {
            throw BerthError(.conflict, "container \(row.name) was stopped while it started", object: .container(row.name), operation: .run)
        }
        try update(id, "status = 'running', pid = ?, start_time = ?, started = ?, restart_requested = 0",
                   [.int(process.pid), .bits(process.startTime), .integer(started)])
    }

    /// Its command ended with `exitCode` (`oomKilled`: the OOM killer ended a process of its
    /// run): status exited, no process.
    func markExited(id: String, exitCode: Int32, finished: Int64, oomKilled: Bool = false) throws(BerthError) {
        try update(id, "status = 'exited', pid = NULL, start_time = NULL, exit_code = ?, finished = ?, oom_killed = ?",
                   [.int(Int(exitCode)), .integer(finished), .int(oomKilled ? 1 : 0)])
    }

    /// Its supervisor will start it again, unless a stop was asked for: returns false then.
    func markRestarting(id: String) throws(BerthError) -> Bool {
        let row = try requireContainer(id: id)
        guard !row.stopRequested else { return false }
        try update(id, "status = 'restarting', restart_count = restart_count + 1", [])
        return true
    }

    /// Its supervisor is gone (or is `supervisor` now); with `nil` the container is no longer supervised.
    func setSupervisor(id: String, _ supervisor: ProcessIdentity?) throws(BerthError) {
        try update(id, "supervisor_pid = ?, supervisor_start_time = ?",
                   [supervisor.map { .int($0.pid) } ?? .null, supervisor.map { .bits($0.startTime) } ?? .null])
    }

    /// Its supervisor `supervisor` gives it up: no longer supervised. Nothing if another took
    /// it meanwhile or it is gone.
    func clearSupervisor(id: String, if supervisor: ProcessIdentity?) throws(BerthError) {
        guard let row = try container(id: id), row.supervisor == supervisor else { return }
        try setSupervisor(id: id, nil)
    }

    /// Takes an orphan for clean-up by `reaper` (the process that releases what it holds),
    /// if its row is still as `seen` found it: same status, same supervisor, and that one
    /// dead. A container started, stopped or reaped by someone else meanwhile is left alone:
    /// nil. While `reaper` holds it, a start is refused (`claimForStart` finds it
    /// supervised), so nothing it releases can belong to a newer run.
    func claimOrphan(_ seen: ContainerRecord, reaper: ProcessIdentity) throws(BerthError) -> ContainerRecord? {
        guard var row = try container(id: seen.id), row.status == seen.status, row.supervisor == seen.supervisor, !row.isSupervised else {
            return nil
        }
        try setSupervisor(id: row.id, reaper)
        row.supervisor = reaper
        return row
    }

    /// Asks its supervisor to restart it no more (a stop or a removal is under way), and to
    /// SIGKILL its command at `killAt` (milliseconds on CLOCK_MONOTONIC; nil: never) if it
    /// still runs; `restarting`: the stop is a restart's, so an end it causes keeps a `--rm`
    /// container. A stop that is not a restart's takes the mark of one before it back: the
    /// end it causes removes a `--rm` container, as a stop does.
    func requestStop(id: String, restarting: Bool = false, killAt: Int64? = nil) throws(BerthError) {
        try update(id, "stop_requested = 1, restart_requested = ?, kill_at = ?",
                   [.int(restarting ? 1 : 0), killAt.map(SQLValue.integer) ?? .null])
    }

    /// Takes a stopped container for a new start by `supervisor`: status created, restart
    /// count, stop flag and kill deadline reset; the mark of a restart's stop stays until the
    /// command runs (`markRunning`). Throws `.conflict` if it runs (or is being started) under a
    /// live supervisor, or its supervisor has recorded its exit but not yet released its
    /// network; and `.unsupported` if it has no settings to start it with.
    func claimForStart(id: String, supervisor: ProcessIdentity) throws(BerthError) -> ContainerRecord {
        var row = try requireContainer(id: id)
        if row.isSupervised {
            throw BerthError(.conflict, row.status == .exited ? "container \(row.name) is still stopping" : "container \(row.name) is already running",
                             object: .container(row.name), operation: .start, remedy: .listExisting(.container))
        }
        guard row.options != nil else {
            throw BerthError(.unsupported, "container \(row.name) was created by an older berth that did not record its settings",
                             hint: "remove it and run it again", object: .container(row.name), operation: .start)
        }
        try update(id, "status = 'created', supervisor_pid = ?, supervisor_start_time = ?, restart_count = 0, stop_requested = 0, kill_at = NULL",
                   [.int(supervisor.pid), .bits(supervisor.startTime)])
        row.status = .created
        row.supervisor = supervisor
        row.restartCount = 0
        row.stopRequested = false
        row.killAt = nil
        return row
    }

    /// The container with exactly this id, or nil.
    func container(id: String) throws(BerthError) -> ContainerRecord? {
        guard let row = try db().queryFirst("SELECT \(Self.containerColumns) FROM containers WHERE id = ?", [.text(id)], Self.decodeContainer) else {
            return nil
        }
        return try withArguments(row)
    }

    func requireContainer(id: String) throws(BerthError) -> ContainerRecord {
        guard let row = try container(id: id) else {
            throw BerthError(.notFound, "no container with id \(id)", object: .container(id), remedy: .listExisting(.container))
        }
        return row
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

    /// Every container, newest first (as `docker ps -a` lists them; the later insert first within a second).
    func containers() throws(BerthError) -> [ContainerRecord] {
        let db = try db()
        var arguments: [String: [String]] = [:]
        try db.forEach("SELECT container, arg FROM container_args ORDER BY container, position") { row in
            arguments[row.text(0), default: []].append(row.text(1))
        }
        return try db.query("SELECT \(Self.containerColumns) FROM containers ORDER BY created DESC, rowid DESC", [], Self.decodeContainer).map {
            (container) throws(BerthError) -> ContainerRecord in
            try Self.complete(container, command: arguments[container.record.id] ?? [])
        }
    }

    /// Removes a container's row (and its arguments) and returns whether there was one.
    @discardableResult
    func deleteContainer(id: String) throws(BerthError) -> Bool {
        try db().execute("DELETE FROM containers WHERE id = ?", [.text(id)]) == 1
    }

    /// How long the exit status of a container removed when it ended is kept.
    static let removedExitLifetime: Int64 = 3600

    /// Removes the row of a container that ended with `exitCode` and is removed on exit,
    /// keeping its status for `wait` (`container_exits`, an hour; older ones go here);
    /// returns whether there was a row.
    @discardableResult
    func removeEnded(id: String, exitCode: Int32, finished: Int64) throws(BerthError) -> Bool {
        let db = try db()
        try db.execute("DELETE FROM container_exits WHERE finished < ?", [.int(finished - Self.removedExitLifetime)])
        try db.execute("INSERT OR REPLACE INTO container_exits (id, exit_code, finished) VALUES (?, ?, ?)",
                       [.text(id), .int(Int64(exitCode)), .int(finished)])
        return try deleteContainer(id: id)
    }

    /// The exit status of the container `id`, removed when it ended within the hour.
    func removedExit(id: String) throws(BerthError) -> Int32? {
        try db().query("SELECT exit_code FROM container_exits WHERE id = ?", [.text(id)]) { row in Int32(truncatingIfNeeded: row.int(0)) }.first
    }

    // MARK: - Rows

    private func update(_ id: String, _ assignments: String, _ values: [SQLValue]) throws(BerthError) {
        let changed = try db().execute("UPDATE containers SET \(assignments) WHERE id = ?", values + [.text(id)])
        guard changed == 1 else { throw BerthError(.notFound, "no container with id \(id)", object: .container(id)) }
    }

    private func withArguments(_ container: RawContainer) throws(BerthError) -> ContainerRecord {
        let command = try db().query("SELECT arg FROM container_args WHERE container = ? ORDER BY position", [.text(container.record.id)]) { row in
            row.text(0)
        }
        return try Self.complete(container, command: command)
    }

    /// The record with its command, and its settings read with that command. A container
    /// always has a command; a row without one, or with settings that do not read, was
    /// changed outside Berth.
    private static func complete(_ container: RawContainer, command: [String]) throws(BerthError) -> ContainerRecord {
        var record = container.record
        record.command = command
        guard !command.isEmpty else {
            throw BerthError(.state, "state database: container \(record.id) has no command", hint: "the state database was changed by hand",
                             object: .container(record.name))
        }
        if let settings = container.settings {
            do {
                record.options = try RunOptions(json: JSONValue(parsing: settings), command: command)
            } catch {
                throw BerthError(.state, "state database: the settings of container \(record.name) do not read", hint: "the state database was changed by hand",
                                 object: .container(record.name), cause: error)
            }
        }
        return record
    }

    /// A row before its arguments and settings are read.
    private struct RawContainer {
        var record: ContainerRecord
        var settings: String?
    }

    /// Integers are checked, never trapped on.
    private static func decodeContainer(_ row: borrowing Row) throws(BerthError) -> RawContainer {
        let id = row.text(0)
        let unreadable = BerthError(.state, "state database: container \(id) has an unreadable status or process id",
                                    hint: "the state database was changed by hand", object: .container(id))
        var identities: [ProcessIdentity?] = []
        for (pidColumn, timeColumn) in [(Int32(4), Int32(5)), (6, 7)] {
            if row.isNull(pidColumn) {
                identities.append(nil)
                continue
            }
            guard let pid = Int32(exactly: row.int64(pidColumn)), pid > 0 else { throw unreadable }
            identities.append(ProcessIdentity(pid: pid, startTime: row.bits(timeColumn)))
        }
        guard let status = ContainerRecord.Status(rawValue: row.text(10)) else { throw unreadable }
        var exitCode: Int32?
        if !row.isNull(14) {
            guard let code = Int32(exactly: row.int64(14)) else { throw unreadable }
            exitCode = code
        }
        let record = ContainerRecord(
            id: id, name: row.text(1), endpointID: row.isNull(2) ? nil : row.text(2), network: row.text(3),
            process: identities[0], supervisor: identities[1],
            command: [], hostname: row.text(8), rootfs: row.isNull(9) ? nil : row.text(9),
            status: status, created: row.int64(11), started: row.isNull(12) ? nil : row.int64(12), finished: row.isNull(13) ? nil : row.int64(13),
            exitCode: exitCode, restartCount: Int(clamping: row.int64(15)), stopRequested: row.int64(16) != 0,
            oomKilled: row.int64(18) != 0, restartRequested: row.int64(19) != 0, killAt: row.isNull(20) ? nil : row.int64(20))
        return RawContainer(record: record, settings: row.isNull(17) ? nil : row.text(17))
    }
}
