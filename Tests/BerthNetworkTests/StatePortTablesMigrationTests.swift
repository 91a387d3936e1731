import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The migration that rebuilds `port_mappings` and `publication_ports` with their protocol
/// CHECK as comparisons (schema version 9): every row, index and foreign key of a store made
/// at the version before stays, and the CHECK allows what it allowed.
@Suite("StateStore: the port tables' migration (version 9)")
struct StatePortTablesMigrationTests {
    /// The migration's index in `StateSchema.migrations` (found by what it makes, so a
    /// renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "CREATE TABLE new_port_mappings") }

    private func oldStore(_ temp: TempState) throws -> Database {
        let index = Self.migrationIndex
        try #require(index > 0)
        let db = try temp.databaseAtVersion(index)
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created)
                VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('ep1', 'web', '/run/netns/ep1', 4, 99, 'eth0', 'vb1', \(ip("10.88.0.2").value), '02:42:0a:58:00:02', 7);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('ep2', 'web', '/run/netns/ep2', 4, 100, 'eth0', 'vb2', \(ip("10.88.0.3").value), '02:42:0a:58:00:03', 8);
            INSERT INTO port_mappings VALUES ('ep1', 'tcp', '0.0.0.0', 8080, 80);
            INSERT INTO port_mappings VALUES ('ep1', 'udp', '127.0.0.1', 5353, 53);
            INSERT INTO port_mappings VALUES ('ep1', 'sctp', '::', 9999, 99);
            INSERT INTO port_mappings VALUES ('ep2', 'tcp', '0.0.0.0', 9090, 90);
            INSERT INTO publications VALUES ('pub1', 'ext', \(ip("10.66.0.2").value), '/run/netns/ext', 4, 77, NULL, 20);
            INSERT INTO publication_ports VALUES ('pub1', 'tcp', '0.0.0.0', 7070, 70);
            INSERT INTO publication_ports VALUES ('pub1', 'udp', '0.0.0.0', 7071, 71);
            PRAGMA user_version = \(index);
            """)
        return db
    }

    private func schemaObjects(_ db: Database, type: String) throws -> [String] {
        try db.query("SELECT name || ': ' || coalesce(sql, '(automatic)') FROM sqlite_master WHERE type = ? ORDER BY name", [.text(type)]) { row in row.text(0) }
    }

    private func rows(_ db: Database) throws -> [String] {
        try db.query("SELECT 'm ' || endpoint || ' ' || protocol || ' ' || host_address || ' ' || host_port || ' ' || container_port FROM port_mappings ORDER BY 1", []) { row in row.text(0) }
            + db.query("SELECT 'p ' || publication || ' ' || protocol || ' ' || host_address || ' ' || host_port || ' ' || container_port FROM publication_ports ORDER BY 1", []) { row in row.text(0) }
    }

    @Test("rows, indexes and foreign keys of both port tables survive; the new CHECK is in place")
    func keepsEverything() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        let indexesBefore = try schemaObjects(db, type: "index")
        let rowsBefore = try rows(db)
        #expect(rowsBefore.count == 6)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        #expect(try rows(check) == rowsBefore)
        #expect(try schemaObjects(check, type: "index") == indexesBefore)
        let tables = try schemaObjects(check, type: "table").joined(separator: "\n")
        #expect(!tables.contains("protocol IN") && !tables.contains("new_port_mappings") && !tables.contains("new_publication_ports"))
        #expect(tables.components(separatedBy: "CHECK (protocol = 'tcp' OR protocol = 'udp' OR protocol = 'sctp')").count == 3)
        #expect(try check.query("PRAGMA foreign_key_check", []) { row in row.text(0) }.isEmpty)

        // Through the store: the records read back, the keys keep one owner, the foreign keys hold.
        let endpoint = try store.read { tx throws(BerthError) in try tx.endpoint(id: "ep1") }
        #expect(endpoint?.ports.map(\.description) == ["sctp [::]:9999->99", "tcp 0.0.0.0:8080->80", "udp 127.0.0.1:5353->53"])
        let clash = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in try tx.insertPortMapping(Fixture.tcp("ep2", 8080)) }
        }
        #expect(clash?.message == "port tcp 0.0.0.0:8080 is already published by endpoint ep1")
        #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in try tx.insertPortMapping(Fixture.tcp("ghost", 8081)) }
        }
        #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in
                _ = try tx.db().execute("INSERT INTO publication_ports VALUES ('pub1', 'icmp', '0.0.0.0', 7072, 72)")
            }
        }
        try store.write { tx throws(BerthError) in _ = try tx.deleteEndpoint(id: "ep1") }
        #expect(try rows(check) == ["m ep2 tcp 0.0.0.0 9090 90", "p pub1 tcp 0.0.0.0 7070 70", "p pub1 udp 0.0.0.0 7071 71"])
        try store.write { tx throws(BerthError) in _ = try tx.db().execute("DELETE FROM publications WHERE id = 'pub1'") }
        #expect(try rows(check) == ["m ep2 tcp 0.0.0.0 9090 90"])
    }

    @Test("a port row pointing at no endpoint stops the migration with a worded error, before it commits")
    func foreignKeyCheck() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try expectDanglingRowStopsMigration(try oldStore(temp), insert: "INSERT INTO port_mappings VALUES ('gone', 'tcp', '0.0.0.0', 6060, 60)",
                                            table: "port_mappings", version: Self.migrationIndex)
    }
}
