import BerthCore
@testable import BerthNetwork
import Testing

/// The migration that gives networks a phase (schema version 13): a store made at the
/// version before keeps its networks, all ready; the column takes only the two marks; a
/// marked network reads back marked, and an unknown mark is a named state error.
@Suite("StateStore: the network phase migration (version 13)")
struct StateNetworkPhaseMigrationTests {
    /// Found by what it makes, so a renumbering on merge does not break the test.
    private static var migrationIndex: Int { TempState.migrationIndex(containing: "ADD COLUMN phase") }

    @Test("every network of the version before is ready; creating and removing round-trip; ready clears the column")
    func migratesAndRoundTrips() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let index = Self.migrationIndex
        try #require(index > 0)
        let db = try temp.databaseAtVersion(index)
        try db.script("""
            INSERT INTO networks (name, id, bridge, subnet, gateway, mtu, internal, created)
                VALUES ('web', 'n1', 'brweb', '10.88.0.0/24', '10.88.0.1', 1500, 0, 10);
            PRAGMA user_version = \(index);
            """)
        let store = try temp.open()
        let check = try Database(path: store.databasePath, create: false)
        #expect(try StateSchema.version(check) == StateSchema.currentVersion)
        #expect(try store.read { tx throws(BerthError) in try tx.network(named: "web")?.phase } == .ready)
        #expect(try check.query("SELECT phase IS NULL FROM networks", []) { row in row.bool(0) } == [true])

        for phase in [NetworkRecord.Phase.creating, .removing, .ready] {
            try store.write { tx throws(BerthError) in try tx.setPhase(phase, network: "web") }
            #expect(try store.read { tx throws(BerthError) in try tx.network(named: "web")?.phase } == phase)
        }
        #expect(try check.query("SELECT phase IS NULL FROM networks", []) { row in row.bool(0) } == [true])
        var marked = try Fixture.network("db", subnet: "10.89.0.0/24")
        marked.phase = .creating
        try store.write { tx throws(BerthError) in try tx.insertNetwork(marked) }
        #expect(try store.read { tx throws(BerthError) in try tx.networks().map(\.phase) } == [.creating, .ready])
    }

    @Test("the column refuses another mark; one written past the check (a hand edit) is a state error naming the network")
    func refusesOtherMarks() throws {
        try withStore { store, _ in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network()) }
            let db = try Database(path: store.databasePath, create: false)
            #expect(throws: BerthError.self) { try db.script("UPDATE networks SET phase = 'ready'") }
            #expect(throws: BerthError.self) { try db.script("UPDATE networks SET phase = 'gone'") }
            try db.script("PRAGMA ignore_check_constraints = ON; UPDATE networks SET phase = 'gone'; PRAGMA ignore_check_constraints = OFF;")
            let error = #expect(throws: BerthError.self) { try store.read { tx throws(BerthError) in try tx.networks() } }
            #expect(error?.code == .state && error?.message.contains("network \"web\" has an unreadable phase \"gone\"") == true, "\(String(describing: error))")
        }
    }
}
