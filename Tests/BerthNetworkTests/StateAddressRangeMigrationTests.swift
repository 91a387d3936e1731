import BerthCore
@testable import BerthNetwork
import Testing

/// The migration that gives networks address ranges and auxiliary addresses (schema
/// version 14): a store made at the version before keeps its networks and endpoints, with
/// no range and no auxiliary address; both round-trip; unreadable text is a named state
/// error.
@Suite("StateStore: the address range migration (version 14)")
struct StateAddressRangeMigrationTests {
    /// Found by what it makes, so a renumbering on merge does not break the test.
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "ADD COLUMN ip_range") }

    @Test("every network of the version before keeps its rows, with the whole subnet and no auxiliary address; ranges and auxiliary addresses round-trip")
    func migratesAndRoundTrips() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let index = Self.migrationIndex
        try #require(index > 0 && index == StateSchema.currentVersion - 1)
        let db = try temp.databaseAtVersion(index)
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created, ipv6_subnet, ipv6_gateway, dns, phase)
                VALUES ('web', 'n1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1400, 0, 10, 'fd00:88::/64', 'fd00:88::1', 1, NULL);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('e1', 'web', '/run/netns/a', 4, 99, 'eth0', 'vethe1', 173539330, '02:42:0a:58:00:02', 11);
            PRAGMA user_version = \(index);
            """)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        let web = try #require(try store.read { tx throws(BerthError) in try tx.network(named: "web") })
        #expect(web.id == "n1" && web.mtu == 1400 && web.dns && web.subnet?.description == "10.88.0.0/24" && web.ipv6Subnet?.description == "fd00:88::/64")
        #expect(web.ipRange == nil && web.ipv6Range == nil && web.auxiliaryAddresses.isEmpty)
        #expect(try store.read { tx throws(BerthError) in try tx.endpoints(network: "web").map { "\($0.id) \($0.address?.description ?? "")" } } == ["e1 10.88.0.2"])
        #expect(try check.query("SELECT ip_range IS NULL AND ipv6_range IS NULL AND aux_addresses IS NULL FROM networks", []) { row in row.bool(0) } == [true])

        var ranged = try Fixture.network("db", subnet: "10.89.0.0/24")
        ranged.ipRange = try AddressRange(parsing: "10.89.0.100-10.89.0.199")
        ranged.ipv6Subnet = try CIDR(parsing: "fd00:89::/64")
        ranged.ipv6Gateway = IPv6Address("fd00:89::1")
        ranged.ipv6Range = try AddressRange(parsing: "fd00:89::/112")
        ranged.auxiliaryAddresses = ["router": .v4(IPv4Address("10.89.0.254")!), "v6": .v6(IPv6Address("fd00:89::fe")!)]
        try store.write { tx throws(BerthError) in try tx.insertNetwork(ranged) }
        #expect(try store.read { tx throws(BerthError) in try tx.network(named: "db") } == ranged)
        #expect(try check.query("SELECT ip_range, ipv6_range, aux_addresses FROM networks WHERE name = 'db'", []) { row in
            [row.text(0), row.text(1), row.text(2)]
        } == [["10.89.0.100-10.89.0.199", "fd00:89::/112", "router=10.89.0.254,v6=fd00:89::fe"]])
    }

    @Test("unreadable text (a hand edit) is a state error naming the network and the field", arguments: [
        ("ip_range", "'10.88.1.0/24'", "network \"web\" has an unreadable address range \"10.88.1.0/24\""),
        ("ip_range", "'ten'", "network \"web\" has an unreadable address range \"ten\""),
        ("ipv6_range", "'fd00::/120'", "network \"web\" has an unreadable IPv6 address range \"fd00::/120\""),
        ("aux_addresses", "'router=10.88.0.9,router=10.88.0.10'", "network \"web\" has an unreadable auxiliary addresses \"router=10.88.0.9,router=10.88.0.10\""),
        ("aux_addresses", "'router'", "network \"web\" has an unreadable auxiliary addresses \"router\""),
        ("aux_addresses", "'far=10.99.0.9'", "network \"web\" has an unreadable auxiliary addresses \"far=10.99.0.9\""),
        ("aux_addresses", "''", "network \"web\" has an unreadable auxiliary addresses \"\""),
        ("aux_addresses", "'=10.88.0.9'", "network \"web\" has an unreadable auxiliary addresses \"=10.88.0.9\""),
    ])
    func refusesUnreadable(column: String, value: String, message: String) throws {
        try withStore { store, _ in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
            let db = try Database(path: store.databasePath, create: false)
            try db.script("UPDATE networks SET \(column) = \(value)")
            let error = #expect(throws: BerthError.self) { try store.read { tx throws(BerthError) in try tx.networks() } }
            #expect(error?.code == .state && error?.message.contains(message) == true, "\(String(describing: error))")
        }
    }
}
