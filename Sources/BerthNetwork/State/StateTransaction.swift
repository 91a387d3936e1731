import BerthCore

/// The handle a `StateStore.write` or `read` closure works through: every query and change
/// it makes belongs to that one transaction.
///
/// Valid only inside the closure it was given to; using it afterwards throws. In a read
/// transaction every changing method throws too. Outside the package only reads are
/// offered: changes go through `NetworkManager`, which keeps the kernel in step with them.
public struct StateTransaction {
    let database: Database
    let generation: UInt64
    /// Whether this transaction may change the state (it came from `StateStore.write`).
    public let isWritable: Bool

    init(database: Database, generation: UInt64, isWritable: Bool) {
        self.database = database
        self.generation = generation
        self.isWritable = isWritable
    }

    /// The database, after checking that this transaction is still the one running.
    package func db() throws(BerthError) -> Database {
        guard database.activeTransaction == generation else {
            throw BerthError(.internalError, "a state transaction was used after its closure returned",
                             hint: "do all state work inside the StateStore.write/read closure")
        }
        return database
    }
}
