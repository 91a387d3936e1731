import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

/// An endpoint's published ports are written a run at a time (a range is one statement), and
/// the port tables' protocol CHECK is coded without a temporary b-tree per row (schema
/// version 9). What is read back, and what is refused, is what row-by-row writing gave.
@Suite("StateStore: port mappings written a run at a time")
struct StatePortRunsTests {
    private func mapping(_ endpoint: String, _ proto: TransportProtocol, _ host: String, _ hostPort: UInt16, _ containerPort: UInt16) -> PortMappingRecord {
        PortMappingRecord(endpointID: endpoint, proto: proto, hostAddress: IPAddress(host)!, hostPort: hostPort, containerPort: containerPort)
    }

    @Test("ranges, interleaved families, single ports and broken runs read back exactly")
    func readsBack() throws {
        try withStore { store, _ throws in
            var ports: [PortMappingRecord] = []
            // A dual-stack range as the allocator lists it: each IPv4 mapping before its IPv6 twin.
            for offset in UInt16(0)..<300 {
                ports.append(mapping("e1", .tcp, "0.0.0.0", 20000 + offset, 30000 + offset))
                ports.append(mapping("e1", .tcp, "::", 20000 + offset, 30000 + offset))
            }
            // A run that breaks on the container port (8001 -> 91, not 81), one on the host
            // port, another protocol, one address, and a lone port.
            ports += [mapping("e1", .udp, "0.0.0.0", 8000, 80), mapping("e1", .udp, "0.0.0.0", 8001, 91), mapping("e1", .udp, "0.0.0.0", 8002, 92),
                      mapping("e1", .udp, "0.0.0.0", 8004, 93), mapping("e1", .sctp, "127.0.0.1", 9000, 9000), mapping("e1", .sctp, "127.0.0.1", 9001, 9001),
                      mapping("e1", .tcp, "127.0.0.1", 65535, 65535)]
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network())
                try tx.insertEndpoint(try Fixture.endpoint("e1", address: ip("10.88.0.2"), ports: ports))
            }
            let stored = try store.read { tx throws(BerthError) in try tx.portMappings(endpoint: "e1") }
            #expect(stored.count == ports.count)
            #expect(Set(stored) == Set(ports))
            let recorded = try store.read { tx throws(BerthError) in try tx.endpoint(id: "e1") }
            #expect(recorded?.ports.count == 607)
        }
    }

    @Test("a range over a held port is refused naming that port and its holder, and nothing of it stays")
    func conflictInRange() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network())
                try tx.insertEndpoint(try Fixture.endpoint("owner1", address: ip("10.88.0.2"), ports: [Fixture.tcp("owner1", 20500, to: 80)]))
            }
            let range = (UInt16(0)..<1000).map { mapping("late2", .tcp, "0.0.0.0", 20000 + $0, 20000 + $0) }
            let clash = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.insertEndpoint(try Fixture.endpoint("late2", address: ip("10.88.0.3"), ports: range))
                }
            }
            #expect(clash?.code == .conflict)
            #expect(clash?.message == "port tcp 0.0.0.0:20500 is already published by endpoint owner1")
            #expect((clash?.cause as? SQLiteError)?.isConstraintViolation == true)
            try store.read { tx throws(BerthError) in
                #expect(try tx.endpoint(id: "late2") == nil)
                #expect(try tx.portMappings(proto: .tcp, hostPorts: 20000...20999).map(\.endpointID) == ["owner1"])
            }
            // Listed twice inside one request: the store names the endpoint itself.
            let twice = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.insertEndpoint(try Fixture.endpoint("dup3", address: ip("10.88.0.4"),
                                                               ports: [Fixture.tcp("dup3", 7000), Fixture.tcp("dup3", 7001, to: 81), Fixture.tcp("dup3", 7000)]))
                }
            }
            #expect(twice?.message == "port tcp 0.0.0.0:7000 is already published by the same endpoint dup3 (listed twice)")
            // A run whose first port is out of range is refused as the single row was.
            let zero = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    try tx.insertEndpoint(try Fixture.endpoint("zero4", address: ip("10.88.0.5"),
                                                               ports: [mapping("zero4", .tcp, "0.0.0.0", 0, 10), mapping("zero4", .tcp, "0.0.0.0", 1, 11)]))
                }
            }
            #expect(zero?.code == .invalidArgument && zero?.parameter == "ports")
        }
    }

    @Test("writing a port row builds no temporary b-tree (the protocol CHECK has no IN list), and the CHECK still refuses other protocols")
    func noEphemeralTable() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in
                let db = try tx.db()
                for table in ["port_mappings", "publication_ports"] {
                    let owner = table == "port_mappings" ? "endpoint" : "publication"
                    let program = try db.query("EXPLAIN INSERT INTO \(table) (\(owner), protocol, host_address, host_port, container_port) VALUES (?, ?, ?, ?, ?)",
                                                 [SQLValue](repeating: .null, count: 5)) { row in
                        row.text(1)
                    }
                    #expect(program.contains("Insert") || program.contains("IdxInsert"))
                    #expect(!program.contains("OpenEphemeral"), "\(table): \(program)")
                }
            }
            try store.write { tx throws(BerthError) in
                try tx.insertNetwork(try Fixture.network())
                try tx.insertEndpoint(try Fixture.endpoint("e1", address: ip("10.88.0.2")))
            }
            let refused = #expect(throws: BerthError.self) {
                try store.write { tx throws(BerthError) in
                    _ = try tx.db().execute("INSERT INTO port_mappings VALUES ('e1', 'icmp', '0.0.0.0', 8080, 80)")
                }
            }
            #expect((refused?.cause as? SQLiteError)?.isConstraintViolation == true)
            for proto in ["tcp", "udp", "sctp"] {
                try store.write { tx throws(BerthError) in
                    _ = try tx.db().execute("INSERT INTO port_mappings VALUES ('e1', ?, '0.0.0.0', 8080, 80)", [.text(proto)])
                }
            }
            #expect(try store.read { tx throws(BerthError) in try tx.portMappings(endpoint: "e1").map(\.proto.rawValue) } == ["sctp", "tcp", "udp"])
        }
    }
}
