import BerthCore
@testable import BerthNetwork
import Foundation
import Testing

/// Version 4 of the schema on a store made by version 3: its records read back unchanged,
/// it gets an instance id, and it is marked as made before instances when it has networks.
@Suite("StateStore: migration to version 4")
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
        #expect(version == StateSchema.currentVersion && version == 4)
        #expect(instance.legacy && StateInstance.isValid(instance.id))
        let network = try #require(networks.first)
        #expect(networks.count == 1 && network.name == "web" && network.bridge.rawValue == "br-abababababab")
        #expect(!network.bridgeAdopted && network.gatewayAdded && network.bridgeMAC == KernelNames.bridgeMAC(networkID: network.id))
        let endpoint = try #require(endpoints.first)
        #expect(endpoint.id == "e1" && endpoint.hostVeth.rawValue == "vb088e7b07b539b" && endpoint.address.description == "10.88.0.2")
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
}
