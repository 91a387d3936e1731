import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// Versions 4 (publications) and 5 (instances, adopted bridges, detaching endpoints) of the
/// schema on a store an older Berth left: its records read back unchanged, it gets an
/// instance id, and it is marked as made before instances when it has networks or
/// publications.
@Suite("StateStore: migration to versions 4 and 5")
struct StateMigrationTests {
    /// Writes a version-3 store into `directory`: the first three migrations, and with
    /// `populated` a network, an endpoint and a published port as version 3 recorded them.
    private func makeVersion3(_ directory: String, populated: Bool) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + StateStore.databaseName
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]))
        let db = try Database(path: path, create: false)
        try db.script("PRAGMA journal_mode = WAL")
        for migration in StateSchema.migrations.prefix(3) { try db.script(migration) }
        try db.script("PRAGMA user_version = 3")
        guard populated else { return }
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created)
                VALUES ('web', '\(String(repeating: "ab", count: 32))', 'br-abababababab', '10.88.0.0/24', '10.88.0.1', 1500, 0, 1700000000);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('e1', 'web', '/run/netns/ctr1', 4, 4026532000, 'eth0', 'vb088e7b07b539b', 173539330, '02:42:0a:58:00:02', 1700000001);
            INSERT INTO port_mappings (endpoint, protocol, host_address, host_port, container_port)
                VALUES ('e1', 'tcp', '0.0.0.0', 8080, 80);
            """)
    }

    @Test("a populated version-3 store keeps its records, gets an instance id and is marked as made before instances")
    func populated() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try makeVersion3(temp.directory, populated: true)
        let store = try temp.open()
        let (version, instance, networks, endpoints) = try store.read { tx throws(BerthError) in
            (try StateSchema.version(tx.db()), try tx.instance(), try tx.networks(), try tx.endpoints())
        }
        #expect(version == StateSchema.currentVersion && version == 14)
        #expect(instance.legacy && StateInstance.isValid(instance.id))
        let network = try #require(networks.first)
        #expect(networks.count == 1 && network.name == "web" && network.bridge.rawValue == "br-abababababab")
        #expect(!network.bridgeAdopted && network.gatewayAdded && network.bridgeMAC == KernelNames.bridgeMAC(networkID: network.id))
        let endpoint = try #require(endpoints.first)
        #expect(endpoint.id == "e1" && endpoint.hostVeth.rawValue == "vb088e7b07b539b" && endpoint.address?.description == "10.88.0.2")
        #expect(!endpoint.isDetaching && endpoint.ports.map(\.description) == ["tcp 0.0.0.0:8080->80"])
        // Opening it again changes nothing: the same instance.
        #expect(try temp.open().read { tx throws(BerthError) in try tx.instance() } == instance)
    }

    @Test("an empty version-3 store, and a new store, get a fresh instance not marked as older")
    func empty() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try makeVersion3(temp.directory, populated: false)
        let migrated = try temp.open().read { tx throws(BerthError) in try tx.instance() }
        #expect(!migrated.legacy && StateInstance.isValid(migrated.id))
        try withStore { store, _ throws in
            let fresh = try store.read { tx throws(BerthError) in try tx.instance() }
            #expect(!fresh.legacy && fresh.id != migrated.id)
        }
    }

    @Test("a version 3 store gains the publication tables and keeps its networks, endpoints, ports and owners' versions")
    func version3To5() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try makeVersion3Store(in: temp.directory)

        let store = try temp.open()
        #expect(try store.write { tx throws(BerthError) in try StateSchema.version(tx.db()) } == 14)
        let (networks, endpoints, owners) = try store.read { tx throws(BerthError) in
            (try tx.networks().map(\.name), try tx.endpoints().map { "\($0.id) \($0.address?.description ?? "none") \($0.ports)" },
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

    @Test("a version-4 store with publications and no network is marked as made before instances")
    func version4PublicationsOnly() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        try FileManager.default.createDirectory(atPath: temp.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = temp.directory + "/" + StateStore.databaseName
        let db = try Database(path: path, create: true)
        chmod(path, 0o600)
        try db.script("PRAGMA journal_mode = WAL")
        for version in 0..<4 { try db.script(StateSchema.migrations[version]) }
        try db.script("""
            INSERT INTO publications VALUES ('pub1', 'ext', \(ip("10.66.0.2").value), '/run/netns/ext', 4, 77, NULL, 20);
            INSERT INTO publication_ports VALUES ('pub1', 'tcp', '0.0.0.0', 8080, 80);
            PRAGMA user_version = 4;
            """)
        let store = try temp.open()
        let (version, instance, publications) = try store.read { tx throws(BerthError) in
            (try StateSchema.version(tx.db()), try tx.instance(), try tx.publications())
        }
        // Its elements carry tags without an instance id: legacy keeps them its own.
        #expect(version == 14 && instance.legacy && StateInstance.isValid(instance.id))
        #expect(publications.map(\.id) == ["pub1"] && publications.first?.ports.map(\.description) == ["tcp 0.0.0.0:8080->80"])
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
