import BerthNamespace
import BerthCore
@testable import BerthNetwork
@testable import BerthRun
import Foundation
import Testing

/// BerthRun's own tables in the shared store: created through its `StateExtension`, argv
/// stored one argument per row, and a store written by an older berth (BerthNetwork schema
/// version 2, with `containers` and its JSON command column) adopted with its rows.
@Suite("Container state")
struct ContainerStateTests {
    private func record(name: String = "web", command: [String]) -> ContainerRecord {
        ContainerRecord(id: RecordID.generate(), name: name, endpointID: nil, network: "none", process: ProcessIdentity(pid: 42, startTime: 7),
                        supervisor: ProcessIdentity(pid: 41, startTime: 6), command: command, hostname: "box", rootfs: "/srv/r",
                        status: .created, created: 1)
    }

    @Test("a name is reserved once, rows round-trip with argv as given, delete is idempotent and takes the arguments along")
    func rows() throws {
        try withTemporaryDirectory { dir in
            let store = try StateStore(directory: dir)
            try store.prepare(ContainerSchema.stateExtension)
            // Spaces, quotes, a newline, an empty argument, non-ASCII: nothing to escape or parse.
            let argv = ["sh", "-c", "echo \"hi\" 'there'\nexit 3", "", "ünïcode", "[\"not\", \"json\"]"]
            let record = record(command: argv)
            try store.write { tx throws(BerthError) in try tx.insertContainer(record) }
            var second = record
            second.id = RecordID.generate()
            let taken = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in try tx.insertContainer(second) } }
            #expect(taken?.code == .alreadyExists && taken?.message.contains("\"web\" is already in use") == true)
            #expect(taken?.remedy == .chooseAnother(parameter: "name") && taken?.object == .container("web"))

            let stored = try store.read { tx throws(BerthError) in
                try tx.db().query("SELECT position, arg FROM container_args WHERE container = ? ORDER BY position", [.text(record.id)]) { row in
                    "\(row.int(0)):\(row.text(1))"
                }
            }
            #expect(stored == argv.enumerated().map { "\($0):\($1)" })

            try store.write { tx throws(BerthError) in try tx.setContainerStatus(id: record.id, .running) }
            var expected = record
            expected.status = .running
            #expect(try store.read { tx throws(BerthError) in try tx.container(matching: "web") } == expected)
            #expect(try store.read { tx throws(BerthError) in try tx.container(matching: String(record.id.prefix(8))) } == expected)
            #expect(try store.read { tx throws(BerthError) in try tx.containers() } == [expected])
            let missing = #expect(throws: BerthError.self) { try store.read { tx throws(BerthError) in try tx.container(matching: "nope") } }
            #expect(missing?.code == .notFound && missing?.remedy == .listExisting(.container))

            #expect(try store.write { tx throws(BerthError) in try tx.deleteContainer(id: record.id) })
            #expect(try !store.write { tx throws(BerthError) in try tx.deleteContainer(id: record.id) })
            #expect(try store.read { tx throws(BerthError) in try tx.containers() }.isEmpty)
            #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM container_args") { $0.int(0) } } == 0)
        }
    }

    @Test("BerthNetwork's schema has no containers table; prepare creates BerthRun's at its own version, once")
    func ownSchema() throws {
        try withTemporaryDirectory { dir in
            let store = try StateStore(directory: dir)
            #expect(try tables(store) == ["endpoints", "instance", "ipv6_prefix", "networks", "port_mappings", "publication_ports", "publications", "resolver", "schema_versions"])
            try store.prepare(ContainerSchema.stateExtension)
            try store.prepare(ContainerSchema.stateExtension)
            #expect(try tables(store) == ["container_args", "container_boot", "container_exits", "containers", "endpoints", "instance", "ipv6_prefix", "networks", "port_mappings", "publication_ports", "publications",
                                          "resolver", "schema_versions"])
            #expect(try versions(store) == ["BerthRun": 8])
            // A second process's store sees the tables current and changes nothing.
            let other = try StateStore(directory: dir)
            try other.prepare(ContainerSchema.stateExtension)
            #expect(try versions(other) == ["BerthRun": 8])
        }
    }

    @Test("tables of a newer version are refused, not misread")
    func newerVersion() throws {
        try withTemporaryDirectory { dir in
            let store = try StateStore(directory: dir)
            _ = try store.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO schema_versions VALUES ('BerthRun', 9)") }
            let error = #expect(throws: BerthError.self) { try store.prepare(ContainerSchema.stateExtension) }
            #expect(error?.code == .state && error?.message.contains("version 9 of the BerthRun tables") == true)
        }
    }

    @Test("a version 2 store written by an older berth opens with its containers, argv moved out of JSON")
    func legacyStore() throws {
        try withTemporaryDirectory { dir in
            let (running, mangled) = try makeVersion2Store(in: dir)
            let store = try StateStore(directory: dir)
            #expect(try store.write { tx throws(BerthError) in try StateSchema.version(tx.db()) } == StateSchema.currentVersion)
            // BerthNetwork's own rows are untouched; the container table waits for its owner.
            #expect(try store.read { tx throws(BerthError) in try tx.networks().map(\.name) } == ["web"])
            #expect(try columns(store, "containers").contains("command"))

            try store.prepare(ContainerSchema.stateExtension)
            #expect(try versions(store) == ["BerthRun": 8])
            #expect(try !columns(store, "containers").contains("command"))
            let listed = try store.read { tx throws(BerthError) in try tx.containers() }
            // Newest first, as `docker ps -a` lists.
            #expect(listed.map(\.name) == ["mangled", "old"])
            #expect(listed.last == running)
            // Text the JSON parser cannot read is kept whole, as the one argument.
            #expect(listed.first?.command == [mangled])
            // The adopted table works as a new one: a name stays reserved, rows go away.
            let taken = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertContainer(record(name: "old", command: ["true"])) }
            }
            #expect(taken?.code == .alreadyExists)
            #expect(try store.write { tx throws(BerthError) in try tx.deleteContainer(id: running.id) })
            #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM container_args") { $0.int(0) } } == 1)
        }
    }

    @Test("a process id that does not fit is a state error, not a trap")
    func badIntegers() throws {
        try withTemporaryDirectory { dir in
            let store = try StateStore(directory: dir)
            try store.prepare(ContainerSchema.stateExtension)
            let row = record(command: ["true"])
            try store.write { tx throws(BerthError) in
                try tx.insertContainer(row)
                try tx.db().execute("UPDATE containers SET pid = ? WHERE id = ?", [.integer(1 << 40), .text(row.id)])
            }
            let error = #expect(throws: BerthError.self) { try store.read { tx throws(BerthError) in try tx.containers() } }
            #expect(error?.code == .state && error?.message.contains(row.id) == true)
        }
    }

    // MARK: - Helpers

    /// Builds, with SQL alone, the store an older berth left: BerthNetwork's version 1 tables,
    /// version 2's `containers` with the command as JSON text, user_version 2, WAL.
    private func makeVersion2Store(in dir: String) throws -> (ContainerRecord, String) {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = dir + "/" + StateStore.databaseName
        let db = try Database(path: path, create: true)
        chmod(path, 0o600)
        try db.script("PRAGMA journal_mode = WAL")
        try db.script(StateSchema.migrations[0])
        try db.script("""
            CREATE TABLE containers (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, endpoint TEXT, network TEXT NOT NULL,
                pid INTEGER NOT NULL, start_time INTEGER NOT NULL, supervisor_pid INTEGER NOT NULL,
                supervisor_start_time INTEGER NOT NULL, command TEXT NOT NULL, hostname TEXT NOT NULL, rootfs TEXT,
                status TEXT NOT NULL CHECK (status IN ('created', 'running')), created INTEGER NOT NULL
            ) STRICT;
            INSERT INTO networks VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5);
            PRAGMA user_version = 2;
            """)
        let running = ContainerRecord(id: String(repeating: "a", count: 64), name: "old", endpointID: String(repeating: "a", count: 64),
                                      network: "web", process: ProcessIdentity(pid: 1234, startTime: 99),
                                      supervisor: ProcessIdentity(pid: 1233, startTime: 98),
                                      command: ["sh", "-c", "echo \"quoted\" \\ back"], hostname: "aaaaaaaaaaaa", rootfs: nil,
                                      status: .running, created: 10, started: 10)
        let mangled = "[\"sh\", oops"
        for (record, command) in [(running, JSONValue.array(running.command.map(JSONValue.string)).render()), (record(name: "mangled", command: []), mangled)] {
            try db.execute("INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                .text(record.id), .text(record.name), record.endpointID.map(SQLValue.text) ?? .null, .text(record.network),
                .int(record.process?.pid ?? 0), .bits(record.process?.startTime ?? 0), .int(record.supervisor?.pid ?? 0),
                .bits(record.supervisor?.startTime ?? 0), .text(command), .text(record.hostname), record.rootfs.map(SQLValue.text) ?? .null,
                .text(record.status.rawValue), .integer(record.name == "old" ? 10 : 11),
            ])
        }
        return (running, mangled)
    }

    private func tables(_ store: StateStore) throws -> [String] {
        try store.read { tx throws(BerthError) in
            try tx.db().query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") { row in row.text(0) }
        }
    }

    private func columns(_ store: StateStore, _ table: String) throws -> [String] {
        try store.write { tx throws(BerthError) in try tx.db().query("PRAGMA table_info(\(table))") { row in row.text(1) } }
    }

    private func versions(_ store: StateStore) throws -> [String: Int] {
        let rows = try store.read { tx throws(BerthError) in
            try tx.db().query("SELECT owner, version FROM schema_versions") { row in (row.text(0), row.int(1)) }
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "berth-run-state-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir + "/state")
    }
}
