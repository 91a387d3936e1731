import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The migration that drops version 8's triggers (schema version 10, docs/performance.md
/// perf8): a store made at the version before keeps every row and index, loses only the two
/// triggers, and the store still refuses an endpoint whose families differ from its network's.
@Suite("StateStore: the endpoints' triggers migration (version 10)")
struct StateFamiliesMigrationTests {
    /// The migration's index in `StateSchema.migrations` (found by what it does, so a
    /// renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "DROP TRIGGER IF EXISTS endpoints_families_on_insert") }

    private func schemaObjects(_ db: Database) throws -> [String] {
        try db.query("SELECT type || ' ' || name || ': ' || coalesce(sql, '(automatic)') FROM sqlite_master ORDER BY type, name", []) { row in row.text(0) }
    }

    private func rows(_ db: Database) throws -> [String] {
        try db.query("SELECT id || ' ' || network || ' ' || quote(ipv4) || ' ' || quote(ipv6) FROM endpoints ORDER BY id", []) { row in row.text(0) }
    }

    @Test("the two triggers go, every other schema object and every row stays; a mismatched endpoint is still refused")
    func dropsTriggers() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let index = Self.migrationIndex
        try #require(index > 0 && !StateSchema.rebuildsTables.contains(index + 1))
        let db = try temp.databaseAtVersion(index)
        let v6 = IPv6Address("fd00:6::2")!.bytes.map { String(format: "%02x", $0) }.joined()
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created)
                VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5);
            INSERT INTO networks (name, id, bridge, mtu, internal, created, ipv6_subnet, ipv6_gateway)
                VALUES ('v6', 'net2', 'brv6', 1500, 0, 6, 'fd00:6::/64', 'fd00:6::1');
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('ep1', 'web', '/run/netns/ep1', 4, 99, 'eth0', 'vb1', \(ip("10.88.0.2").value), '02:42:0a:58:00:02', 7);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, mac, created, ipv6)
                VALUES ('ep2', 'v6', '/run/netns/ep2', 4, 100, 'eth0', 'vb2', '02:42:00:00:00:02', 8, x'\(v6)');
            INSERT INTO port_mappings VALUES ('ep1', 'tcp', '0.0.0.0', 8080, 80);
            PRAGMA user_version = \(index);
            """)
        // The triggers of the version before still refuse a mismatch made in SQL.
        #expect(throws: BerthError.self) { try db.execute("UPDATE endpoints SET ipv6 = NULL WHERE id = 'ep2'") }
        let before = try schemaObjects(db)
        let rowsBefore = try rows(db)
        #expect(before.filter { $0.hasPrefix("trigger ") }.count == 2)

        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        // Version 11 rebuilds the publications table (StatePublicationsIPv6MigrationTests),
        // version 12 adds the instance's boot (StateBootMigrationTests), version 13 the
        // networks' phase (StateNetworkPhaseMigrationTests).
        let later = { (object: String) in
            object.hasPrefix("table publications:") || object.hasPrefix("table instance:") || object.hasPrefix("table networks:")
        }
        #expect(try schemaObjects(check).filter { !later($0) } == before.filter { !$0.hasPrefix("trigger ") && !later($0) })
        #expect(try rows(check) == rowsBefore)
        #expect(try store.read { tx throws(BerthError) in try tx.endpoint(id: "ep1")?.ports.map(\.description) } == ["tcp 0.0.0.0:8080->80"])

        // Through the store, the rule holds as the triggers held it.
        let mismatched = try StateIPv6OnlyTests.endpoint("ep3", network: "v6", ipv4: ip("10.0.0.3"), ipv6: IPv6Address("fd00:6::3"))
        let error = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in try tx.insertEndpoint(mismatched) } }
        #expect((error?.cause as? SQLiteError)?.message == "an endpoint needs an address of each family of its network, and no other")
        try store.write { tx throws(BerthError) in
            try tx.insertEndpoint(try StateIPv6OnlyTests.endpoint("ep4", network: "v6", ipv6: IPv6Address("fd00:6::4")))
        }
        #expect(try rows(check) == rowsBefore + ["ep4 v6 NULL X'FD000006000000000000000000000004'"])
    }
}
