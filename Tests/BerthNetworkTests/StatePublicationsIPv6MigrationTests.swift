import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The migration that gives publications an IPv6 address (schema version 11): the table is
/// rebuilt with `ipv4` nullable and an `ipv6` column; a store made at the version before
/// keeps every publication with its ports, and the new rules hold.
@Suite("StateStore: the publications' IPv6 migration (version 11)")
struct StatePublicationsIPv6MigrationTests {
    /// The migration's index in `StateSchema.migrations` (found by what it makes, so a
    /// renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "CREATE TABLE new_publications") }

    private func oldStore(_ temp: TempState) throws -> Database {
        let index = Self.migrationIndex
        try #require(index > 0)
        let db = try temp.databaseAtVersion(index)
        // Publications alone: the rebuild touches no other table.
        try db.script("""
            INSERT INTO publications VALUES ('pub1', 'ext', \(ip("10.66.0.2").value), '/run/netns/ext', 4, 77, 'extbr0', 20);
            INSERT INTO publications VALUES ('pub2', 'other', \(ip("10.66.0.3").value), '/run/netns/ext2', 4, 78, NULL, 21);
            INSERT INTO publication_ports VALUES ('pub1', 'tcp', '0.0.0.0', 7070, 70);
            INSERT INTO publication_ports VALUES ('pub1', 'udp', '192.0.2.1', 7071, 71);
            INSERT INTO publication_ports VALUES ('pub2', 'tcp', '127.0.0.1', 7072, 72);
            PRAGMA user_version = \(index);
            """)
        return db
    }

    private func indexes(_ db: Database) throws -> [String] {
        try db.query("SELECT name || ': ' || coalesce(sql, '(automatic)') FROM sqlite_master WHERE type = 'index' ORDER BY name", []) { row in row.text(0) }
    }

    private func rows(_ db: Database) throws -> [String] {
        try db.query("SELECT id || ' ' || grp || ' ' || quote(ipv4) || ' ' || netns_path || ' ' || netns_dev || ' ' || netns_ino || ' ' || quote(host_link) || ' ' || created FROM publications ORDER BY id", []) { row in row.text(0) }
            + db.query("SELECT 'p ' || publication || ' ' || protocol || ' ' || host_address || ' ' || host_port || ' ' || container_port FROM publication_ports ORDER BY 1", []) { row in row.text(0) }
    }

    @Test("every publication and its ports survive with no IPv6 address; the indexes and foreign keys stay; the new rules hold")
    func keepsPublications() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        let rowsBefore = try rows(db)
        let indexesBefore = try indexes(db)
        #expect(rowsBefore.count == 5)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        #expect(try rows(check) == rowsBefore)
        #expect(try indexes(check) == indexesBefore)
        #expect(try check.query("SELECT count(*) FROM publications WHERE ipv6 IS NOT NULL", []) { row in row.int(0) } == [0])
        #expect(try check.query("PRAGMA foreign_key_check", []) { row in row.text(0) }.isEmpty)
        #expect(try check.query("SELECT name FROM sqlite_master WHERE name LIKE 'new_%'", []) { row in row.text(0) }.isEmpty)

        // Through the store: the records read back whole, IPv4 only.
        let pub1 = try #require(try store.read { tx throws(BerthError) in try tx.publication(id: "pub1") })
        #expect(pub1.address == ip("10.66.0.2") && pub1.ipv6Address == nil && pub1.hostLink?.rawValue == "extbr0" && pub1.created == 20)
        #expect(pub1.namespaceIdentity == NamespaceIdentity(device: 4, inode: 77))
        #expect(pub1.ports.map(\.description) == ["tcp 0.0.0.0:7070->70", "udp 192.0.2.1:7071->71"])
        #expect(try store.read { tx throws(BerthError) in try tx.publications().map(\.id) } == ["pub1", "pub2"])
        // Keys keep one owner across endpoints and publications.
        #expect(try store.read { tx throws(BerthError) in try tx.portHolder(PortKey(proto: .tcp, hostAddress: .v4(.any), hostPort: 7070)) } == .publication("pub1"))

        // A publication to an IPv6 address alone, and one of both families, are recorded.
        let six = PublicationRecord(id: "pub6", group: "ext", address: nil, ipv6Address: IPv6Address("fd00:66::2"), namespacePath: "/run/netns/ext6",
                                    namespaceIdentity: NamespaceIdentity(device: 4, inode: 79), created: 22,
                                    ports: [PortMappingRecord(endpointID: "pub6", proto: .tcp, hostAddress: .v6(.any), hostPort: 7073, containerPort: 73)])
        let dual = PublicationRecord(id: "pubd", group: "ext", address: ip("10.66.0.4"), ipv6Address: IPv6Address("fd00:66::4"),
                                     namespacePath: "/run/netns/extd", namespaceIdentity: NamespaceIdentity(device: 4, inode: 80), created: 23)
        try store.write { tx throws(BerthError) in
            try tx.insertPublication(six)
            try tx.insertPublication(dual)
        }
        #expect(try store.read { tx throws(BerthError) in try tx.publication(id: "pub6") } == six)
        #expect(try store.read { tx throws(BerthError) in try tx.publication(id: "pubd") } == dual)
        // A row with neither address is refused by the table itself (its CHECK), and so is
        // an IPv6 address of the wrong length: each by its own constraint, nothing else.
        let neither = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in
                _ = try tx.db().execute("INSERT INTO publications (id, grp, netns_path, netns_dev, netns_ino, created) VALUES ('none', 'g', '/p', 1, 2, 3)")
            }
        }
        #expect(String(describing: neither).contains("CHECK constraint failed: ipv4 IS NOT NULL OR ipv6 IS NOT NULL"), "\(String(describing: neither))")
        let short = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in
                _ = try tx.db().execute("INSERT INTO publications (id, grp, netns_path, netns_dev, netns_ino, created, ipv6) VALUES ('short', 'g', '/p', 1, 2, 3, x'fd00')")
            }
        }
        #expect(String(describing: short).contains("CHECK constraint failed: ipv6 IS NULL OR length(ipv6) = 16"), "\(String(describing: short))")
        #expect(try check.query("SELECT count(*) FROM publications WHERE id IN ('none', 'short')", []) { row in row.int(0) } == [0])
        // ON DELETE CASCADE still removes a publication's ports.
        try store.write { tx throws(BerthError) in _ = try tx.deletePublication(id: "pub1") }
        #expect(try check.query("SELECT count(*) FROM publication_ports WHERE publication = 'pub1'", []) { row in row.int(0) } == [0])
        #expect(try check.query("SELECT count(*) FROM publication_ports", []) { row in row.int(0) } == [2])
    }

    @Test("a publication port pointing at no publication stops the migration with a worded error, before it commits")
    func foreignKeyCheck() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        try expectDanglingRowStopsMigration(db, insert: "INSERT INTO publication_ports VALUES ('gone', 'tcp', '0.0.0.0', 6060, 60)",
                                            table: "publication_ports", version: Self.migrationIndex)
        #expect(try db.query("SELECT count(*) FROM publications", []) { row in row.int(0) } == [2])
    }
}
