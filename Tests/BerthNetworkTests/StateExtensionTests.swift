import BerthCore
@testable import BerthNetwork
import Foundation
import Testing

/// Tables of higher targets in the shared store: each owner's migrations run once, in order,
/// versioned apart from BerthNetwork's schema and from each other, all or nothing.
@Suite("StateStore: schema extensions")
struct StateExtensionTests {
    private static func create(_ table: String) -> @Sendable (StateTransaction) throws -> Void {
        { tx in try tx.db().script("CREATE TABLE \(table) (x INTEGER) STRICT") }
    }

    private func version(_ store: StateStore, _ owner: String) throws -> Int {
        try store.read { tx throws(BerthError) in try tx.schemaVersion(of: owner) }
    }

    private func hasTable(_ store: StateStore, _ name: String) throws -> Bool {
        try store.read { tx throws(BerthError) in
            try tx.db().queryFirst("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(name)]) { $0.int(0) } == 1
        }
    }

    @Test("owners are versioned apart; a later migration runs alone on a store that has the earlier ones")
    func independentVersions() throws {
        try withStore { store, temp throws in
            try store.prepare(StateExtension(owner: "alpha", migrations: [Self.create("alpha_one")]))
            try store.prepare(StateExtension(owner: "beta", migrations: [Self.create("beta_one"), Self.create("beta_two")]))
            #expect(try version(store, "alpha") == 1 && version(store, "beta") == 2)
            #expect(try store.write { tx throws(BerthError) in try StateSchema.version(tx.db()) } == StateSchema.currentVersion)

            // A newer program adds alpha's second migration: only it runs (the first would fail
            // if it ran again: its table exists).
            let reopened = try temp.open()
            try reopened.prepare(StateExtension(owner: "alpha", migrations: [Self.create("alpha_one"), Self.create("alpha_two")]))
            #expect(try version(reopened, "alpha") == 2 && hasTable(reopened, "alpha_two"))
            #expect(try version(reopened, "beta") == 2)
        }
    }

    @Test("a failing migration leaves the owner's tables and version as they were")
    func allOrNothing() throws {
        try withStore { store, _ throws in
            let failing: @Sendable (StateTransaction) throws -> Void = { _ in throw BerthError(.internalError, "migration two fails") }
            let error = #expect(throws: BerthError.self) {
                try store.prepare(StateExtension(owner: "gamma", migrations: [Self.create("gamma_one"), failing]))
            }
            #expect(error?.message == "migration two fails")
            #expect(try version(store, "gamma") == 0 && !hasTable(store, "gamma_one"))

            try store.prepare(StateExtension(owner: "gamma", migrations: [Self.create("gamma_one"), Self.create("gamma_two")]))
            #expect(try version(store, "gamma") == 2 && hasTable(store, "gamma_one") && hasTable(store, "gamma_two"))
        }
    }

    @Test("a version newer than the program's migrations is refused")
    func newer() throws {
        try withStore { store, _ throws in
            try store.prepare(StateExtension(owner: "delta", migrations: [Self.create("delta_one"), Self.create("delta_two")]))
            let reopened = try StateStore(directory: store.directory)
            let error = #expect(throws: BerthError.self) {
                try reopened.prepare(StateExtension(owner: "delta", migrations: [Self.create("delta_one")]))
            }
            #expect(error?.code == .state && error?.message.contains("version 2 of the delta tables, newer than this program understands (1)") == true)
        }
    }
}
