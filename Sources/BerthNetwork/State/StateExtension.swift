import BerthCore

/// Tables that a target above BerthNetwork keeps in the shared state store, with the
/// migrations that create and change them.
///
/// Each target owns its state: BerthNetwork's own tables are versioned by
/// `PRAGMA user_version`, and every extension is versioned on its own, as the row
/// `(owner, version)` of the `schema_versions` table. `StateStore.prepare(_:)` runs the
/// migrations an owner's row has not seen yet, in one write transaction under the store's
/// cross-process lock — the same lock and transaction discipline as the store's own schema,
/// so a crash mid-migration leaves the previous version, and two processes never both
/// migrate.
///
/// Migration `i` moves the owner's tables from version `i` to `i + 1`. Migrations are
/// append-only: a released one is never edited, only followed by another. Package-level
/// because a migration runs SQL on the store's connection (`StateTransaction.db()`).
package struct StateExtension: Sendable {
    /// The owner's stable name in `schema_versions` (the target's name, by convention).
    package let owner: String
    /// The migrations, oldest first. Each throws a `BerthError` (untyped here: Swift 6.3
    /// crashes compiling typed-throws closures of this type).
    package let migrations: [@Sendable (StateTransaction) throws -> Void]

    package init(owner: String, migrations: [@Sendable (StateTransaction) throws -> Void]) {
        self.owner = owner
        self.migrations = migrations
    }

    /// The version the migrations lead to.
    package var currentVersion: Int { migrations.count }
}

extension StateTransaction {
    /// The version of `owner`'s tables in this store; 0 when it has none yet.
    package func schemaVersion(of owner: String) throws(BerthError) -> Int {
        try db().queryFirst("SELECT version FROM schema_versions WHERE owner = ?", [.text(owner)]) { row in row.int(0) } ?? 0
    }

    /// Runs the migrations of `schema` that this store has not seen and records the new
    /// version. Runs inside a write transaction.
    func migrate(_ schema: StateExtension) throws(BerthError) {
        let found = try schemaVersion(of: schema.owner)
        guard found <= schema.currentVersion else {
            throw BerthError(.state, "state database \(database.path) has version \(found) of the \(schema.owner) tables, newer than this program understands (\(schema.currentVersion))",
                             object: .state(database.path), operation: .openState)
        }
        guard found < schema.currentVersion else { return }
        for version in found..<schema.currentVersion {
            do {
                try schema.migrations[version](self)
            } catch let error as BerthError {
                throw error
            } catch {
                throw BerthError(.internalError, "migration \(version + 1) of the \(schema.owner) tables failed", cause: error)
            }
        }
        try db().execute("INSERT INTO schema_versions (owner, version) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET version = excluded.version",
                         [.text(schema.owner), .int(schema.currentVersion)])
    }
}
