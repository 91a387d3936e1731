public import BerthCore

/// Which Berth a state directory is: several state directories may share one host (a
/// system one, a test's, a user's), each keeping its own networks. Every kernel object a
/// store makes carries its instance id — in bridge and veth aliases and in nftables comments
/// (`berth-network web @3f9a2c1b`) — and `gc`, `check` and `reconcile` touch only objects
/// of their own instance.
///
/// The id is 8 hex digits, drawn when the store's schema reaches version 5.
public struct StateInstance: Sendable, Hashable, CustomStringConvertible {
    /// 8 lowercase hex digits.
    public var id: String
    /// The store recorded networks before instances existed (it was migrated to version 5
    /// with networks in it): its older objects carry tags without an id. Such a store also
    /// takes an untagged object for its own when one of its records names it (a bridge of
    /// its network, an endpoint's veth, a rule of its network, an element of its endpoint);
    /// `reconcile` then adds the id to the tag. An unnamed untagged object could be any
    /// instance's, so no instance collects it as garbage.
    public var legacy: Bool

    /// The instance `id` (not checked here: the store draws and reads it).
    public init(id: String, legacy: Bool = false) {
        self.id = id
        self.legacy = legacy
    }

    public var description: String { id }

    /// Whether `id` is a well-formed instance id.
    static func isValid(_ id: String) -> Bool {
        id.utf8.count == 8 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// The `instance` table's one row. A named type, not a tuple: a tuple type is generic
/// metadata the runtime builds at its first use.
struct InstanceRow {
    var id: String
    var legacy: Bool
    /// The boot id (`KernelAccess.bootID`) the state's kernel objects belong to; empty
    /// (NULL) until a write first knew the boot (a store upgraded to schema version 12).
    var boot: String
}

extension StateTransaction {
    /// This store's instance.
    public func instance() throws(BerthError) -> StateInstance {
        let db = try db()
        // The boot check at the start of this transaction read the row already.
        if db.instanceGeneration == generation { return db.instanceRead }
        let row = try instanceRow()
        return StateInstance(id: row.id, legacy: row.legacy)
    }

    /// The instance row, with the boot its kernel objects belong to.
    func instanceRow() throws(BerthError) -> InstanceRow {
        // No WHERE: the table's CHECK keeps it to one row, and a statement without one is
        // cheaper to prepare.
        let row = try db().queryFirst("SELECT id, legacy, boot FROM instance") { row in
            InstanceRow(id: row.text(0), legacy: row.bool(1), boot: row.text(2))
        }
        guard let row, StateInstance.isValid(row.id) else {
            throw BerthError(.state, "state database \(database.path) has no readable instance id",
                             hint: "the state database was changed outside Berth; restore it or start a new state directory",
                             object: .state(database.path))
        }
        return row
    }

    /// Replaces the instance id (tests that compare exact bytes need a fixed one).
    package func setInstance(_ instance: StateInstance) throws(BerthError) {
        guard StateInstance.isValid(instance.id) else { throw .invalid("instance id \"\(instance.id)\" is not 8 lowercase hex digits") }
        let db = try db()
        try db.execute("UPDATE instance SET id = ?, legacy = ? WHERE singleton = 1", [.text(instance.id), .bool(instance.legacy)])
        db.instanceGeneration = 0
    }

    /// Commits what the transaction changed so far and goes on in a new one, still under the
    /// store's lock: a crash from here on keeps those changes, and nothing else can have
    /// written in between. What follows still commits or rolls back as a whole.
    func commitAndContinue() throws(BerthError) {
        let db = try db()
        try db.script("COMMIT")
        try db.script("BEGIN IMMEDIATE")
    }

    /// Commits what the transaction changed, now, so that a caller can undo its kernel work
    /// when COMMIT itself fails (SQLITE_FULL, SQLITE_IOERR): `StateStore.write` commits
    /// nothing more after a body that called this. Nothing may change the state after it.
    func commit() throws(BerthError) {
        let db = try db()
        do {
            try db.script("COMMIT")
        } catch {
            if db.inTransaction { try? db.script("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` inside a savepoint of this transaction: what it changed stays in the
    /// transaction when it returns, and is rolled back alone when it throws (then rethrown),
    /// the transaction going on — so one item of a batch (an endpoint `gc` collects) that
    /// fails never takes the others with it.
    func savepoint<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        let db = try db()
        try db.script("SAVEPOINT item")
        do {
            let result = try body()
            try db.script("RELEASE item")
            return result
        } catch {
            try? db.script("ROLLBACK TO item")
            try? db.script("RELEASE item")
            throw error
        }
    }

    /// After a failure past `commitAndContinue`: drops what is not committed and runs
    /// `cleanup` in a transaction of its own (still under the store's lock), committing
    /// what it changed. Best effort: if it fails, nothing of it is committed, and what was
    /// committed before stays for `gc` to finish.
    func abandon(_ cleanup: () throws(BerthError) -> Void) {
        guard let db = try? db() else { return }
        if db.inTransaction { try? db.script("ROLLBACK") }
        do {
            try db.script("BEGIN IMMEDIATE")
            try cleanup()
            try db.script("COMMIT")
        } catch {
            if db.inTransaction { try? db.script("ROLLBACK") }
        }
    }

    /// After a failure past `commitAndContinue`: drops what is not committed and, in a
    /// transaction of its own (still under the store's lock), forgets endpoint `id`, which
    /// an attach committed marked before its kernel work. Best effort: if this fails too,
    /// the marked record stays, and `gc` or an attach of the same id finishes it.
    func forgetAbandoned(endpoint id: String) {
        guard let db = try? db() else { return }
        if db.inTransaction { try? db.script("ROLLBACK") }
        do {
            try db.script("BEGIN IMMEDIATE")
            try db.execute("DELETE FROM endpoints WHERE id = ?", [.text(id)])
            try db.script("COMMIT")
        } catch {
            if db.inTransaction { try? db.script("ROLLBACK") }
        }
    }
}
