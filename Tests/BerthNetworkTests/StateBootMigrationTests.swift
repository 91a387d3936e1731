import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The migration that records the boot the state's kernel objects belong to (schema version
/// 12): a store made at the version before keeps every row, its boot empty; the first
/// write that knows the boot records it without forgetting anything (the store was upgraded
/// on a running system), and a later boot's first write forgets the endpoints, publications
/// and resolver of the earlier one.
@Suite("StateStore: the boot migration (version 12)")
struct StateBootMigrationTests {
    /// The migration's index in `StateSchema.migrations` (found by what it makes, so a
    /// renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "ADD COLUMN boot") }

    private func oldStore(_ temp: TempState) throws -> Database {
        let index = Self.migrationIndex
        try #require(index > 0)
        let db = try temp.databaseAtVersion(index)
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created, dns)
                VALUES ('web', 'n1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 10, 1);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created, name)
                VALUES ('e1', 'web', '/run/netns/c1', 4, 71, 'eth0', 'vbe1', \(ip("10.88.0.5").value), '02:42:0a:58:00:05', 11, 'db');
            INSERT INTO port_mappings VALUES ('e1', 'tcp', '0.0.0.0', 8080, 80);
            INSERT INTO publications (id, grp, ipv4, netns_path, netns_dev, netns_ino, host_link, created)
                VALUES ('pub1', 'ext', \(ip("10.66.0.2").value), '/run/netns/ext', 4, 77, 'extbr0', 12);
            INSERT INTO publication_ports VALUES ('pub1', 'udp', '0.0.0.0', 5353, 53);
            INSERT INTO resolver VALUES (1, 4242, 99, 13);
            UPDATE instance SET id = 'f4ce00aa';
            PRAGMA user_version = \(index);
            """)
        return db
    }

    private func rows(_ db: Database) throws -> [String] {
        try db.query("""
            SELECT 'n ' || name || ' ' || bridge FROM networks
            UNION ALL SELECT 'e ' || id || ' ' || ipv4 || ' ' || name FROM endpoints
            UNION ALL SELECT 'm ' || endpoint || ' ' || host_port FROM port_mappings
            UNION ALL SELECT 'p ' || id || ' ' || grp FROM publications
            UNION ALL SELECT 'q ' || publication || ' ' || host_port FROM publication_ports
            UNION ALL SELECT 'r ' || pid FROM resolver
            UNION ALL SELECT 'i ' || id || ' ' || legacy FROM instance
            ORDER BY 1
            """, []) { row in row.text(0) }
    }

    @Test("every row survives with an empty boot; the first write records the boot and forgets nothing; another boot's first write forgets endpoints, publications and the resolver, keeping networks")
    func migratesAndSettles() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        let before = try rows(db)
        #expect(before.count == 7)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        #expect(try rows(check) == before)
        #expect(try check.query("SELECT boot IS NULL FROM instance", []) { row in row.bool(0) } == [true])

        // Upgraded on a running system: its objects are this boot's.
        store.bind(boot: "boot-1")
        #expect(try store.read { tx throws(BerthError) in try tx.endpoints().map(\.id) } == ["e1"])
        #expect(try rows(check) == before)
        #expect(try check.query("SELECT boot FROM instance", []) { row in row.text(0) } == ["boot-1"])
        #expect(try store.read { tx throws(BerthError) in try tx.instance() } == StateInstance(id: "f4ce00aa"))

        // After a reboot (another process: a new store), the first write forgets.
        let next = try temp.open()
        next.bind(boot: "boot-2")
        let instance = try next.write { tx throws(BerthError) in try tx.instance() }
        #expect(instance == StateInstance(id: "f4ce00aa"))
        #expect(try rows(check) == ["i f4ce00aa 0", "n web brweb"])
        #expect(try check.query("SELECT boot FROM instance", []) { row in row.text(0) } == ["boot-2"])
    }

    @Test("a fresh store records the boot at its first write; a store bound to no boot (unreadable) checks nothing")
    func freshAndUnknown() throws {
        try withStore { store, temp in
            store.bind(boot: "boot-1")
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
            #expect(try store.read { tx throws(BerthError) in try tx.recordedBoot() } == "boot-1")
            _ = try Fixture.attach(store, id: "e1")

            let unknown = try temp.open()
            unknown.bind(boot: nil)
            _ = try Fixture.attach(unknown, id: "e2")
            #expect(try unknown.read { tx throws(BerthError) in try tx.endpoints().map(\.id) } == ["e1", "e2"])
            #expect(try unknown.read { tx throws(BerthError) in try tx.recordedBoot() } == "boot-1")
        }
    }
}
