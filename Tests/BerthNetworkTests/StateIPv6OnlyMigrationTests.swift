import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The migration that lets a network be IPv6-only (issue 15, `--ipv4=false`): it rebuilds
/// `networks` and `endpoints` with foreign keys off around its transaction. A store made at
/// the version before keeps every row, index and foreign key; a crash in the middle leaves
/// that version usable.
@Suite("StateStore: the IPv6-only migration (table rebuild)")
struct StateIPv6OnlyMigrationTests {
    /// The index of the rebuild in `StateSchema.migrations` (found by what it makes, so a
    /// renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "CREATE TABLE new_networks") }

    /// A store at the version before the rebuild with two networks (one dual-stack),
    /// endpoints with ports, names and aliases, and a publication with a port.
    private func oldStore(_ temp: TempState) throws -> Database {
        let index = Self.migrationIndex
        try #require(index > 0 && StateSchema.rebuildsTables.contains(index + 1))
        let db = try temp.databaseAtVersion(index)
        let v6a = IPv6Address("fd00:beef::2")!.bytes.map { String(format: "%02x", $0) }.joined()
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created, dns)
                VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5, 1);
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created, ipv6_subnet, ipv6_gateway, dns_upstreams)
                VALUES ('dual', 'net2', 'brdual', '10.89.0.0/24', '10.89.0.1', 1400, 1, 6, 'fd00:beef::/64', 'fd00:beef::1', '192.0.2.53');
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created, name, aliases)
                VALUES ('ep1', 'web', '/run/netns/ep1', 4, 99, 'eth0', 'vb1', \(ip("10.88.0.2").value), '02:42:0a:58:00:02', 7, 'one', 'uno,eins');
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created, ipv6, detaching)
                VALUES ('ep2', 'dual', '/run/netns/ep2', 4, 100, 'eth1', 'vb2', \(ip("10.89.0.2").value), '02:42:0a:59:00:02', 8, x'\(v6a)', 1);
            INSERT INTO port_mappings VALUES ('ep1', 'tcp', '0.0.0.0', 8080, 80);
            INSERT INTO port_mappings VALUES ('ep1', 'udp', '127.0.0.1', 5353, 53);
            INSERT INTO port_mappings VALUES ('ep2', 'tcp', '0.0.0.0', 9090, 90);
            INSERT INTO publications VALUES ('pub1', 'ext', \(ip("10.66.0.2").value), '/run/netns/ext', 4, 77, NULL, 20);
            INSERT INTO publication_ports VALUES ('pub1', 'tcp', '0.0.0.0', 7070, 70);
            PRAGMA user_version = \(index);
            """)
        return db
    }

    private func schemaObjects(_ db: Database, type: String) throws -> [String] {
        try db.query("SELECT name || ': ' || coalesce(sql, '(automatic)') FROM sqlite_master WHERE type = ? ORDER BY name", [.text(type)]) { row in row.text(0) }
    }

    private func count(_ db: Database, _ table: String) throws -> Int {
        try db.queryFirst("SELECT count(*) FROM \(table)", []) { row in row.int(0) } ?? -1
    }

    /// Every row of the tables the rebuild touches and of those pointing at them, as text.
    private func dump(_ db: Database) throws -> [String] {
        var lines: [String] = []
        for (table, columns) in [("networks", "name, id, bridge, subnet, gateway, mtu, internal, created, bridge_adopted, gateway_added, ipv6_subnet, ipv6_gateway, dns, dns_upstreams"),
                                 ("endpoints", "id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created, detaching, hex(ipv6), name, aliases"),
                                 ("port_mappings", "endpoint, protocol, host_address, host_port, container_port"),
                                 ("publications", "id, grp, ipv4, host_link, created"), ("publication_ports", "publication, protocol, host_port")] {
            let quoted = columns.split(separator: ",").map { "quote(\($0.trimmingCharacters(in: .whitespaces)))" }.joined(separator: " || '|' || ")
            lines += try db.query("SELECT '\(table) ' || \(quoted) FROM \(table) ORDER BY 1", []) { row in row.text(0) }
        }
        return lines
    }

    @Test("rows, indexes and foreign keys survive the rebuild; foreign keys are on again after it")
    func keepsEverything() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        let indexesBefore = try schemaObjects(db, type: "index")
        let rowsBefore = try dump(db)
        #expect(rowsBefore.count == 9)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        #expect(try dump(check) == rowsBefore)
        #expect(try schemaObjects(check, type: "index") == indexesBefore)
        // Version 8 made two triggers, which a later version dropped (StateFamiliesMigrationTests).
        #expect(try schemaObjects(check, type: "trigger").isEmpty)
        #expect(try check.query("PRAGMA foreign_key_check", []) { row in row.text(0) }.isEmpty)
        // The old NOT NULL columns take NULL now; the new checks are in the tables.
        let tables = try schemaObjects(check, type: "table").joined(separator: "\n")
        #expect(tables.contains("CHECK (subnet IS NOT NULL OR ipv6_subnet IS NOT NULL)") && tables.contains("CHECK (ipv4 IS NOT NULL OR ipv6 IS NOT NULL)"))
        #expect(!tables.contains("new_networks") && !tables.contains("new_endpoints"))

        // Through the store: foreign keys are enforced on its connection again.
        #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA foreign_keys") { row in row.int(0) } } == 1)
        let records = try store.read { tx throws(BerthError) in (try tx.networks(), try tx.endpoints()) }
        #expect(records.0.map(\.name) == ["dual", "web"] && records.0.first?.ipv6Subnet?.description == "fd00:beef::/64")
        #expect(records.1.map(\.id) == ["ep2", "ep1"] || records.1.map(\.id) == ["ep1", "ep2"])
        #expect(records.1.first { $0.id == "ep1" }?.ports.count == 2 && records.1.first { $0.id == "ep1" }?.aliases == ["uno", "eins"])
        // ON DELETE RESTRICT: a network with endpoints cannot go, even past the store's own check.
        let restricted = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in _ = try tx.db().execute("DELETE FROM networks WHERE name = 'web'") }
        }
        #expect(String(describing: restricted).contains("FOREIGN KEY constraint failed"), "\(String(describing: restricted))")
        // REFERENCES: an endpoint of no network is refused.
        let orphan = #expect(throws: BerthError.self) {
            try store.write { tx throws(BerthError) in
                _ = try tx.db().execute("""
                    INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                        VALUES ('ghost', 'nowhere', '/p', 1, 2, 'eth0', 'vbg', 5, 'm', 1)
                    """)
            }
        }
        #expect(String(describing: orphan).contains("FOREIGN KEY constraint failed"), "\(String(describing: orphan))")
        // ON DELETE CASCADE: the endpoint's port mappings go with it, others' stay.
        try store.write { tx throws(BerthError) in _ = try tx.deleteEndpoint(id: "ep1") }
        #expect(try count(check, "port_mappings") == 1)
        #expect(try store.read { tx throws(BerthError) in try tx.portMappings(endpoint: "ep2").count } == 1)
        // The unique indexes still hold: ep2's IPv6 address and a name are leases.
        #expect(try store.read { tx throws(BerthError) in try tx.ipv6AddressHolder(IPv6Address("fd00:beef::2")!, network: "dual") } == "ep2")
    }

    @Test("a crash inside the migration's transaction leaves the old version, which opens and migrates later")
    func crashLeavesOldVersion() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        let old = Self.migrationIndex
        let rowsBefore = try dump(db)
        let tablesBefore = try schemaObjects(db, type: "table")
        // The files as a crash at the last moment before COMMIT leaves them (a process
        // crash keeps what was written: the WAL may hold frames of the uncommitted rebuild).
        let crashed = temp.root + "/crashed"
        try FileManager.default.createDirectory(atPath: crashed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        #expect(throws: BerthError.self) {
            try StateSchema.migrate(db) { () throws(BerthError) in
                for suffix in ["", "-wal", "-shm"] {
                    let source = db.path + suffix
                    guard FileManager.default.fileExists(atPath: source) else { continue }
                    do {
                        try FileManager.default.copyItem(atPath: source, toPath: crashed + "/" + StateStore.databaseName + suffix)
                    } catch {
                        throw BerthError(.internalError, "copy \(source): \(error)")
                    }
                }
                throw BerthError(.internalError, "fail point: crash before COMMIT")
            }
        }
        // The failed migration rolled back on this connection, with foreign keys on again.
        #expect(try StateSchema.version(db) == old)
        #expect(try schemaObjects(db, type: "table") == tablesBefore)
        #expect(try db.queryFirst("PRAGMA foreign_keys") { row in row.int(0) } == 1)

        // The crash image: SQLite recovers it to the old version, every row there.
        let image = try Database(path: crashed + "/" + StateStore.databaseName, create: false)
        #expect(try StateSchema.version(image) == old)
        #expect(try dump(image) == rowsBefore)
        #expect(try schemaObjects(image, type: "table") == tablesBefore)
        // And the store opens it, migrating it then.
        let store = try StateStore(directory: crashed)
        #expect(try store.read { tx throws(BerthError) in try StateSchema.version(tx.db()) } == StateSchema.currentVersion)
        #expect(try store.read { tx throws(BerthError) in try tx.endpoints().count } == 2)
    }

    @Test("a row pointing nowhere stops the migration before it commits")
    func foreignKeyCheck() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let db = try oldStore(temp)
        // Written with enforcement off, as a hand edit of the file would be.
        try db.script("""
            PRAGMA foreign_keys = OFF;
            INSERT INTO port_mappings VALUES ('gone', 'tcp', '0.0.0.0', 6060, 60);
            PRAGMA foreign_keys = ON;
            """)
        let error = try #require(throws: BerthError.self) { try StateSchema.migrate(db) }
        #expect(error.code == .state && error.message.contains("port_mappings"))
        #expect(try StateSchema.version(db) == Self.migrationIndex)
    }
}

/// IPv6-only networks and endpoints in the store, and what the schema refuses.
@Suite("StateStore: IPv6-only networks and endpoints")
struct StateIPv6OnlyTests {
    static func ipv6Only(_ name: String = "v6", subnet: String = "fd00:6::/64") throws(BerthError) -> NetworkRecord {
        let cidr = try CIDR(parsing: subnet)
        return NetworkRecord(name: name, id: RecordID.generate(), bridge: try InterfaceName("br-\(name)"), subnet: nil, gateway: nil,
                             mtu: 1500, isInternal: false, created: StateClock.now(),
                             ipv6Subnet: cidr, ipv6Gateway: IPAM.defaultIPv6Gateway(for: cidr))
    }

    static func endpoint(_ id: String, network: String = "v6", ipv4: IPv4Address? = nil, ipv6: IPv6Address?) throws(BerthError) -> EndpointRecord {
        EndpointRecord(id: id, network: network, namespacePath: "/run/netns/\(id)", namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                       interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb-\(id)"), address: ipv4,
                       mac: MACAddress(derivedFrom: ipv6 ?? .any), created: StateClock.now(), ipv6Address: ipv6)
    }

    @Test("an IPv6-only network and endpoint read back with no IPv4; leases come from the IPv6 subnet alone")
    func roundTrip() throws {
        try withStore { store, _ throws in
            let network = try Self.ipv6Only()
            try store.write { tx throws(BerthError) in try tx.insertNetwork(network) }
            let read = try store.read { tx throws(BerthError) in try tx.requireNetwork(named: "v6") }
            #expect(read == network && read.isIPv6Only && !read.hasIPv4 && read.hasIPv6 && !read.isDualStack && read.ipv4 == nil)
            #expect(read.familyDescription == "IPv6")
            let (v4, v6) = try store.write { tx throws(BerthError) in
                let net = try tx.requireNetwork(named: "v6")
                let v4 = try IPAM.allocate(tx, network: net)
                let v6 = try IPAM.allocateIPv6(tx, network: net, requested: nil)
                try tx.insertEndpoint(try Self.endpoint("a", ipv6: v6))
                return (v4, v6)
            }
            #expect(v4 == nil && v6?.description == "fd00:6::2")
            let endpoint = try #require(try store.read { tx throws(BerthError) in try tx.endpoint(id: "a") })
            #expect(endpoint.address == nil && endpoint.addresses.map(\.description) == ["fd00:6::2"])
            #expect(endpoint.mac.description == "02:42:00:00:00:02")
        }
    }

    @Test("an IPv4 address asked for on an IPv6-only network is refused naming the network")
    func requestedIPv4Refused() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Self.ipv6Only()) }
            let error = try #require(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in _ = try IPAM.allocate(tx, network: try tx.requireNetwork(named: "v6"), requested: ip("10.0.0.2")) }
            }
            #expect(error.code == .invalidArgument && error.object == .network("v6") && error.message.contains("IPv6-only"))
        }
    }

    @Test("the schema refuses a network without a family; the store an endpoint whose families differ from its network's")
    func schemaRefusals() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Self.ipv6Only())
                try tx.insertNetwork(try Fixture.network("web"))
            }
            // Past the record types, straight to SQL: the schema itself holds the networks' rules.
            for (sql, constraint) in [
                ("INSERT INTO networks (name, id, bridge, mtu, internal, created) VALUES ('none', 'n0', 'br0', 1500, 0, 1)",
                 "CHECK constraint failed: subnet IS NOT NULL OR ipv6_subnet IS NOT NULL"),
                ("INSERT INTO networks (name, id, bridge, subnet, mtu, internal, created) VALUES ('half', 'n1', 'br1', '10.1.0.0/24', 1500, 0, 1)",
                 "CHECK constraint failed: (gateway IS NULL) = (subnet IS NULL)"),
            ] {
                let error = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in _ = try tx.db().execute(sql) } }
                #expect(String(describing: error).contains(constraint), "\(String(describing: error))")
            }
            // An IPv4 address on the IPv6-only network; no IPv6 address there; an IPv6
            // address on the IPv4-only network; no address at all: the error the schema's
            // triggers raised before version 10, now `insertEndpoint`'s.
            for endpoint in [try Self.endpoint("b", ipv4: ip("10.0.0.2"), ipv6: IPv6Address("fd00:6::3")),
                             try Self.endpoint("c", ipv4: ip("10.0.0.3"), ipv6: nil),
                             try Self.endpoint("d", network: "web", ipv4: ip("10.88.0.4"), ipv6: IPv6Address("fd00:6::4")),
                             try Self.endpoint("e", network: "web", ipv4: nil, ipv6: nil)] {
                let error = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in try tx.insertEndpoint(endpoint) } }
                let cause = error?.cause as? SQLiteError
                #expect(error?.code == .state && cause?.code == SQLiteError.constraintTrigger
                        && cause?.message == "an endpoint needs an address of each family of its network, and no other")
                #expect(error?.message.hasPrefix("state database: step failed for \"INSERT INTO endpoints VALUES (?, ?,") == true)
            }
            try store.write { tx throws(BerthError) in try tx.insertEndpoint(try Self.endpoint("f", ipv6: IPv6Address("fd00:6::5"))) }
            #expect(try store.read { tx throws(BerthError) in try tx.endpoints().map(\.id) } == ["f"])
        }
    }
}
