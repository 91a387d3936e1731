import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Testing

@Suite("StateStore: networks, endpoints, port mappings")
struct StateRecordsTests {
    @Test("a network reads back field for field, lists by name and deletes")
    func networkCRUD() throws {
        try withStore { store, _ throws in
            var web = try Fixture.network("web", subnet: "172.18.0.0/16")
            web.mtu = 9000
            web.isInternal = true
            let db = try Fixture.network("db", subnet: "172.19.0.0/16")
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(web)
                try tx.insertNetwork(db)
            }
            try store.read { tx throws(BerthError) in
                #expect(try tx.network(named: "web") == web)
                #expect(try tx.network(named: "nope") == nil)
                #expect(try tx.networks().map(\.name) == ["db", "web"])
            }
            let deleted = try store.write { tx throws(BerthError) in try tx.deleteNetwork(named: "web") }
            #expect(deleted == web)
            #expect(try store.read { tx throws(BerthError) in try tx.networks() } == [db])
            let missing = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.deleteNetwork(named: "web") }
            }
            #expect(missing?.code == .notFound)
            #expect(missing?.message == "no network named \"web\"")
        }
    }

    @Test("a second network with the same name or bridge is refused, naming the holder")
    func networkUniqueness() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("web", bridge: "br0")) }
            let sameName = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("web", bridge: "br1")) }
            }
            #expect(sameName?.code == .alreadyExists)
            let sameBridge = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("api", bridge: "br0")) }
            }
            #expect(sameBridge?.code == .conflict)
            #expect(sameBridge?.message == "bridge br0 is already used by network \"web\"")
        }
    }

    @Test("an endpoint reads back with its ports; lists, counts and deletes by network")
    func endpointCRUD() throws {
        try withStore { store, _ throws in
            let a = try Fixture.endpoint("aaaa1111", address: ip("10.88.0.2"), ports: [
                Fixture.tcp("aaaa1111", 8080), Fixture.tcp("aaaa1111", 8443, to: 443, on: "127.0.0.1"),
                PortMappingRecord(endpointID: "aaaa1111", proto: .udp, hostAddress: IPAddress("::")!, hostPort: 53, containerPort: 53),
            ])
            var b = try Fixture.endpoint("bbbb2222", address: ip("10.88.0.3"))
            b.namespaceIdentity = NamespaceIdentity(device: UInt64.max, inode: 1 << 63)  // full 64-bit range survives
            let c = try Fixture.endpoint("cccc3333", network: "api", address: ip("10.89.0.2"))
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network("web"))
                try tx.insertNetwork(try Fixture.network("api", subnet: "10.89.0.0/24"))
                for endpoint in [a, b, c] { try tx.insertEndpoint(endpoint) }
            }
            try store.read { tx throws(BerthError) in
                let readA = try tx.endpoint(id: "aaaa1111")
                #expect(readA?.ports.count == 3)
                #expect(readA.map { Set($0.ports) } == Set(a.ports))
                #expect(readA.map { var r = $0; r.ports = []; return r } == { var r = a; r.ports = []; return r }())
                #expect(try tx.endpoint(id: "bbbb2222") == b)
                #expect(try tx.endpoints(network: "web").map(\.id) == ["aaaa1111", "bbbb2222"])
                #expect(try tx.endpoints(network: "web").first?.ports.count == 3)
                #expect(try tx.endpoints().map(\.id) == ["cccc3333", "aaaa1111", "bbbb2222"])  // network, then address
                #expect(try tx.endpointCount(network: "web") == 2)
                #expect(try tx.endpointCounts() == ["web": 2, "api": 1])
                #expect(try tx.endpoint(matching: "bbbb2222").id == "bbbb2222")
                // A custom id is taken in full only (EndpointShortID): no prefix of it.
                #expect(throws: BerthError.self) { try tx.endpoint(matching: "bbbb") }
            }
            let removed = try store.write { tx throws(BerthError) in try tx.deleteEndpoint(id: "aaaa1111") }
            #expect(removed.ports.count == 3)
            try store.read { tx throws(BerthError) in
                #expect(try tx.endpoint(id: "aaaa1111") == nil)
                // The cascade dropped its port mappings with it.
                #expect(try tx.portOwner(PortKey(proto: .tcp, hostAddress: IPAddress("0.0.0.0")!, hostPort: 8080)) == nil)
                #expect(try tx.endpointCount(network: "web") == 1)
            }
        }
    }

    @Test("endpoint lookups: unknown network, duplicate id, ambiguous prefix, network still in use")
    func endpointErrors() throws {
        try withStore { store, _ throws in
            let orphan = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertEndpoint(try Fixture.endpoint("x1", network: "ghost", address: ip("10.0.0.2"))) }
            }
            #expect(orphan?.code == .notFound)
            #expect(orphan?.message == "no network named \"ghost\"")

            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network())
                try tx.insertEndpoint(try Fixture.endpoint("ab12", address: ip("10.88.0.2")))
                try tx.insertEndpoint(try Fixture.endpoint("ab34", address: ip("10.88.0.3")))
            }
            let duplicate = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertEndpoint(try Fixture.endpoint("ab12", address: ip("10.88.0.9"))) }
            }
            #expect(duplicate?.code == .alreadyExists)
            let sameAddress = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertEndpoint(try Fixture.endpoint("zz99", address: ip("10.88.0.3"))) }
            }
            #expect(sameAddress?.code == .conflict)
            #expect(sameAddress?.message.contains("already leased to endpoint ab34") == true)
            // Generated ids are taken by 12 or more of their first digits; two that share them
            // are refused together, named.
            let first = "abcdef012345" + String(repeating: "0", count: 52), second = "abcdef012345" + String(repeating: "1", count: 52)
            try store.write { tx throws(BerthError) in
                try tx.insertEndpoint(try Fixture.endpoint(first, address: ip("10.88.0.4")))
                try tx.insertEndpoint(try Fixture.endpoint(second, address: ip("10.88.0.5")))
            }
            #expect(try store.read { tx throws(BerthError) in try tx.endpoint(matching: "abcdef0123450").id } == first)
            let ambiguous = #expect(throws: BerthError.self) {
                try store.read { tx throws(BerthError) in try tx.endpoint(matching: "abcdef012345") }
            }
            #expect(ambiguous?.message == "endpoint id prefix \"abcdef012345\" is ambiguous: it matches \(first), \(second)")
            let custom = #expect(throws: BerthError.self) {
                try store.read { tx throws(BerthError) in try tx.endpoint(matching: "ab") }
            }
            #expect(custom?.code == .notFound)
            let inUse = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.deleteNetwork(named: "web") }
            }
            #expect(inUse?.code == .conflict)
            #expect(inUse?.message == "network \"web\" still has 4 endpoints attached")
        }
    }

    @Test("a port key has one owner: a second claim is refused by the store, naming the holder")
    func portOwnership() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network())
                try tx.insertEndpoint(try Fixture.endpoint("owner1", address: ip("10.88.0.2"), ports: [Fixture.tcp("owner1", 8080)]))
                try tx.insertEndpoint(try Fixture.endpoint("other2", address: ip("10.88.0.3")))
            }
            let key = PortKey(proto: .tcp, hostAddress: IPAddress("0.0.0.0")!, hostPort: 8080)
            #expect(try store.read { tx throws(BerthError) in try tx.portOwner(key) }?.endpointID == "owner1")

            let clash = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in try tx.insertPortMapping(Fixture.tcp("other2", 8080, to: 81)) }
            }
            #expect(clash?.code == .conflict)
            #expect(clash?.message == "port tcp 0.0.0.0:8080 is already published by endpoint owner1")
            // The UNIQUE constraint itself refused it, not only a check in Swift.
            #expect((clash?.cause as? SQLiteError)?.isConstraintViolation == true)

            // Other protocol, other address, other port: all distinct keys.
            try store.write { tx throws(BerthError) in
                try tx.insertPortMapping(PortMappingRecord(endpointID: "other2", proto: .udp, hostAddress: IPAddress("0.0.0.0")!, hostPort: 8080, containerPort: 80))
                try tx.insertPortMapping(Fixture.tcp("other2", 8080, on: "127.0.0.1"))
                try tx.insertPortMapping(Fixture.tcp("other2", 8081))
            }
            try store.read { tx throws(BerthError) in
                #expect(try tx.portMappings(proto: .tcp, hostPort: 8080).map(\.endpointID) == ["owner1", "other2"])
                // The endpoints' and the publications' holders in one statement: the same
                // mappings, in the same (host-address) order.
                let holders = try tx.portHolders(proto: .tcp, hostPort: 8080)
                #expect(holders.mappings == (try tx.portMappings(proto: .tcp, hostPort: 8080)) && holders.publications.isEmpty)
                #expect(holders.mappings.map(\.key.hostAddress.description) == ["0.0.0.0", "127.0.0.1"])
                #expect(try tx.portMappings(endpoint: "other2").count == 3)
            }
            // A new endpoint whose port clashes is not recorded at all.
            #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.insertEndpoint(try Fixture.endpoint("late3", address: ip("10.88.0.4"), ports: [Fixture.tcp("late3", 8081)]))
                }
            }
            #expect(try store.read { tx throws(BerthError) in try tx.endpoint(id: "late3") } == nil)
        }
    }

    @Test("the INSERTs without a column list give the values in the tables' column order")
    func insertColumnOrder() throws {
        try withStore { store, _ throws in
            let columns = { (table: String) throws in
                try store.read { tx throws(BerthError) in
                    try tx.db().query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table)]) { row in row.text(0) }.joined(separator: ", ")
                }
            }
            #expect(try columns("endpoints") == StateTransaction.endpointColumns)
            #expect(try columns("port_mappings") == StateTransaction.portColumns("p").split(separator: ", ").map { $0.dropFirst(2) }.joined(separator: ", "))
            // Listed in its INSERT too: a fresh store and a migrated one have the same order.
            #expect(try columns("publications") == StateTransaction.publicationColumns)
        }
    }
}
