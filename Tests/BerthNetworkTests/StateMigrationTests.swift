import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// BerthNetwork's schema version 4 (publications) over a store an older Berth left.
@Suite("StateSchema: migrating a version 3 store")
struct StateMigrationTests {
    @Test("a version 3 store gains the publication tables and keeps its networks, endpoints, ports and owners' versions")
    func version3To4() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try makeVersion3Store(in: temp.directory)

        let store = try temp.open()
        #expect(try store.write { tx throws(BerthError) in try StateSchema.version(tx.db()) } == 4)
        let (networks, endpoints, owners) = try store.read { tx throws(BerthError) in
            (try tx.networks().map(\.name), try tx.endpoints().map { "\($0.id) \($0.address) \($0.ports)" },
             try tx.db().query("SELECT owner, version FROM schema_versions") { row in "\(row.text(0)) \(row.int(1))" })
        }
        #expect(networks == ["web"])
        #expect(endpoints == ["ep1 10.88.0.2 [tcp 0.0.0.0:8080->80]"])
        #expect(owners == ["containers 2"])

        // The new tables work beside the old rows: the endpoint's key is held against a
        // publication, and a free key is published.
        let publication = PublicationRecord(id: "pub1", group: "ext", address: ip("10.66.0.2"), namespacePath: "/run/netns/ext",
                                            namespaceIdentity: NamespaceIdentity(device: 4, inode: 77), created: 20,
                                            ports: [Fixture.tcp("pub1", 8080)])
        let clash = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in try tx.insertPublication(publication) } }
        #expect(clash?.code == .conflict)
        #expect(clash?.remedy == .remove(.endpoint("ep1")))
        var free = publication
        free.ports = [Fixture.tcp("pub1", 8081)]
        try store.write { tx throws(BerthError) in try tx.insertPublication(free) }
        #expect(try store.read { tx throws(BerthError) in try tx.publication(id: "pub1") } == free)

        // Opening again migrates nothing twice.
        let again = try temp.open()
        #expect(try again.read { tx throws(BerthError) in try tx.publications().map(\.id) } == ["pub1"])
    }

    /// Builds, with SQL alone, the store the previous Berth left: BerthNetwork's migrations
    /// 1 to 3, a network, an endpoint with a published port, BerthRun's version row, and
    /// user_version 3.
    private func makeVersion3Store(in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = dir + "/" + StateStore.databaseName
        let db = try Database(path: path, create: true)
        chmod(path, 0o600)
        try db.script("PRAGMA journal_mode = WAL")
        for version in 0..<3 { try db.script(StateSchema.migrations[version]) }
        try db.script("""
            INSERT INTO networks VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5);
            INSERT INTO endpoints VALUES ('ep1', 'web', '/run/netns/ep1', 4, 99, 'eth0', 'vb0123456789abc', \(ip("10.88.0.2").value), '02:42:0a:58:00:02', 6);
            INSERT INTO port_mappings VALUES ('ep1', 'tcp', '0.0.0.0', 8080, 80);
            INSERT INTO schema_versions VALUES ('containers', 2);
            PRAGMA user_version = 3;
            """)
    }
}
