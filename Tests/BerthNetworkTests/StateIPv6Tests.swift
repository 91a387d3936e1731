import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// The IPv6 migration (issue 15): a store an older Berth left keeps its IPv4 networks and
/// endpoints as they were (no IPv6), gains a unique local prefix, and records dual-stack
/// networks and IPv6 leases, one holder per address.
@Suite("StateStore: IPv6 networks, leases and the unique local prefix")
struct StateIPv6Tests {
    /// The index of the IPv6 migration in `StateSchema.migrations` (found by what it makes,
    /// so a renumbering on merge does not break the test).
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "CREATE TABLE ipv6_prefix") }

    private func v6(_ text: String) -> IPv6Address { IPv6Address(text)! }

    private func dualStack(_ name: String, subnet: String = "10.88.0.0/24", v6Subnet: String) throws(BerthError) -> NetworkRecord {
        var network = try Fixture.network(name, subnet: subnet)
        let cidr = try CIDR(parsing: v6Subnet)
        network.ipv6Subnet = cidr
        network.ipv6Gateway = IPAM.defaultIPv6Gateway(for: cidr)
        return network
    }

    @Test("a store from before IPv6 keeps its network and endpoint as IPv4-only and gains a unique local prefix")
    func migratesOlderStore() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let index = Self.migrationIndex
        try #require(index > 0)
        let db = try temp.databaseAtVersion(index, foreignKeys: false)
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created)
                VALUES ('web', 'net1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 5);
            INSERT INTO endpoints (id, network, netns_path, netns_dev, netns_ino, ifname, host_veth, ipv4, mac, created)
                VALUES ('ep1', 'web', '/run/netns/ep1', 4, 99, 'eth0', 'vb0123456789abc', \(ip("10.88.0.2").value), '02:42:0a:58:00:02', 6);
            INSERT INTO port_mappings VALUES ('ep1', 'tcp', '0.0.0.0', 8080, 80);
            PRAGMA user_version = \(index);
            """)
        let store = try temp.open()
        let (version, networks, endpoints, prefix) = try store.read { tx throws(BerthError) in
            (try StateSchema.version(tx.db()), try tx.networks(), try tx.endpoints(), try tx.uniqueLocalPrefix())
        }
        #expect(version == StateSchema.currentVersion)
        let network = try #require(networks.first)
        #expect(network.subnet?.description == "10.88.0.0/24" && network.ipv6Subnet == nil && network.ipv6Gateway == nil && !network.isDualStack)
        let endpoint = try #require(endpoints.first)
        #expect(endpoint.address?.description == "10.88.0.2" && endpoint.ipv6Address == nil)
        #expect(endpoint.ports.map(\.description) == ["tcp 0.0.0.0:8080->80"])
        #expect(prefix.prefix.description.hasPrefix("fd") && prefix.prefix.prefixLength == 48)
        // The prefix is kept: opening the store again gives the same one.
        #expect(try temp.open().read { tx throws(BerthError) in try tx.uniqueLocalPrefix() } == prefix)
        // An IPv4-only endpoint beside the old one: NULL IPv6 leases never clash.
        try Fixture.attach(store, id: "ep2")
        #expect(try store.read { tx throws(BerthError) in try tx.endpoints().map { $0.ipv6Address } } == [nil, nil])
    }

    @Test("two stores draw different unique local prefixes; a test can fix one")
    func prefixPerStore() throws {
        let first = try withStore { store, _ throws in try store.read { tx throws(BerthError) in try tx.uniqueLocalPrefix() } }
        let second = try withStore { store, _ throws in try store.read { tx throws(BerthError) in try tx.uniqueLocalPrefix() } }
        // 40 random bits: equal by chance once in 10^12.
        #expect(first != second)
        try withStore { store, _ throws in
            let fixed = try #require(UniqueLocalPrefix(globalID: 0x12_3456_789A))
            try store.write { tx throws(BerthError) in try tx.setUniqueLocalPrefix(fixed) }
            #expect(try store.read { tx throws(BerthError) in try tx.uniqueLocalPrefix() }.description == "fd12:3456:789a::/48")
        }
    }

    @Test("a dual-stack network and its endpoints' IPv6 leases read back as written, in numeric order")
    func dualStackRoundTrip() throws {
        try withStore { store, _ throws in
            let network = try dualStack("web", v6Subnet: "fd00:beef::/64")
            try store.write { tx throws(BerthError) in try tx.insertNetwork(network) }
            // Inserted out of order, with addresses whose byte order differs from their text order.
            let addresses = ["fd00:beef::1:0", "fd00:beef::a", "fd00:beef::2", "fd00:beef::ff00"]
            for (n, text) in addresses.enumerated() {
                var endpoint = try Fixture.endpoint("ep\(n)", address: ip("10.88.0.\(n + 2)"))
                endpoint.ipv6Address = v6(text)
                try store.write { tx throws(BerthError) in try tx.insertEndpoint(endpoint) }
            }
            let (read, leased, ep0) = try store.read { tx throws(BerthError) in
                (try tx.requireNetwork(named: "web"), try tx.leasedIPv6Addresses(network: "web"), try tx.endpoint(id: "ep0"))
            }
            #expect(read == network && read.isDualStack && read.ipv6Gateway?.description == "fd00:beef::1")
            #expect(leased.map(\.description) == ["fd00:beef::2", "fd00:beef::a", "fd00:beef::ff00", "fd00:beef::1:0"])
            #expect(ep0?.ipv6Address?.description == "fd00:beef::1:0")
            #expect(try store.read { tx throws(BerthError) in try tx.ipv6AddressHolder(v6("fd00:beef::a"), network: "web") } == "ep1")
            #expect(try store.read { tx throws(BerthError) in try tx.ipv6AddressHolder(v6("fd00:beef::b"), network: "web") } == nil)
        }
    }

    @Test("an IPv6 address leased in a network is refused to a second endpoint naming the holder, and freed by its detach")
    func ipv6LeaseIsUnique() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try dualStack("web", v6Subnet: "fd00:beef::/64"))
                try tx.insertNetwork(try dualStack("db", subnet: "10.89.0.0/24", v6Subnet: "fd00:cafe::/64"))
            }
            var first = try Fixture.endpoint("ep1", address: ip("10.88.0.2"))
            first.ipv6Address = v6("fd00:beef::2")
            try store.write { tx throws(BerthError) in try tx.insertEndpoint(first) }
            var second = try Fixture.endpoint("ep2", address: ip("10.88.0.3"))
            second.ipv6Address = v6("fd00:beef::2")
            let error = #expect(throws: BerthError.self) { try store.write { tx throws(BerthError) in try tx.insertEndpoint(second) } }
            #expect(error?.code == .conflict && error?.object == .endpoint("ep1"))
            #expect(error?.message.contains("fd00:beef::2") == true)
            #expect(try store.read { tx throws(BerthError) in try tx.endpoint(id: "ep2") } == nil)
            // The same address in another network is another lease (the key is (network, ipv6)).
            var other = try Fixture.endpoint("ep3", network: "db", address: ip("10.89.0.2"))
            other.ipv6Address = v6("fd00:beef::2")
            try store.write { tx throws(BerthError) in try tx.insertEndpoint(other) }
            _ = try store.write { tx throws(BerthError) in try tx.deleteEndpoint(id: "ep1") }
            try store.write { tx throws(BerthError) in try tx.insertEndpoint(second) }
            #expect(try store.read { tx throws(BerthError) in try tx.ipv6AddressHolder(v6("fd00:beef::2"), network: "web") } == "ep2")
        }
    }

    @Test("the schema itself refuses a half IPv6 network and a malformed IPv6 lease")
    func schemaChecks() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("web")) }
            #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.db().execute("UPDATE networks SET ipv6_subnet = 'fd00:beef::/64' WHERE name = 'web'")
                }
            }
            #expect(try store.read { tx throws(BerthError) in try tx.requireNetwork(named: "web").ipv6Subnet } == nil)
            try store.write { tx throws(BerthError) in try tx.insertEndpoint(try Fixture.endpoint("ep1", address: ip("10.88.0.2"))) }
            #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.db().execute("UPDATE endpoints SET ipv6 = x'fd00' WHERE id = 'ep1'") }
            }
            #expect(try store.read { tx throws(BerthError) in try tx.endpoint(id: "ep1")?.ipv6Address } == nil)
        }
    }
}
