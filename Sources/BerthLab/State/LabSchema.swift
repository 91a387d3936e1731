import BerthCore
import BerthNetwork

/// BerthLab's tables in the shared state store, versioned apart from the other targets' as
/// the owner "BerthLab" (see `StateExtension`).
///
/// - `labs`: one row per lab; `applied` and `pending` hold specs as JSON (`LabSpec.json`).
/// - `lab_nodes`: every node a lab may have made (its intent, written before `up` makes any).
/// - `lab_networks`: the Berth networks a lab created (written before it creates them).
///
/// Node and network rows go with their lab (ON DELETE CASCADE). Network rows name networks
/// without a foreign key to `networks`: a network can be gone (removed by hand) while the
/// lab still remembers that it made it.
enum LabSchema {
    static let owner = "BerthLab"

    static let stateExtension = StateExtension(owner: owner, migrations: [createTables])

    /// Version 1: the three tables.
    @Sendable static func createTables(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("""
            CREATE TABLE labs (
                name    TEXT PRIMARY KEY,
                source  TEXT NOT NULL,
                applied TEXT,
                pending TEXT,
                updated INTEGER NOT NULL
            ) STRICT;
            CREATE TABLE lab_nodes (
                lab  TEXT NOT NULL REFERENCES labs (name) ON DELETE CASCADE,
                node TEXT NOT NULL,
                PRIMARY KEY (lab, node)
            ) STRICT, WITHOUT ROWID;
            CREATE TABLE lab_networks (
                lab     TEXT NOT NULL REFERENCES labs (name) ON DELETE CASCADE,
                network TEXT NOT NULL,
                PRIMARY KEY (lab, network)
            ) STRICT, WITHOUT ROWID;
            """)
    }
}
