import BerthCore
import BerthNetwork

/// BerthRun's tables in the shared state store: `containers` and `container_args`,
/// versioned apart from BerthNetwork's tables as the owner "BerthRun".
///
/// A container row lives while its supervisor does. pid and start time (field 22 of
/// /proc/PID/stat) together name one process, so a reused pid is never mistaken for it. The
/// endpoint, when there is one, has the container's id; it is not a foreign key because
/// garbage collection may remove the endpoint of a dead namespace before the container row.
///
/// The command is stored one argument per row of `container_args`, in order: it is read back
/// as it was given, with nothing to parse.
enum ContainerSchema {
    static let owner = "BerthRun"

    static let stateExtension = StateExtension(owner: owner, migrations: [adoptContainers, argumentsTable])

    /// Version 1: the `containers` table as BerthNetwork's schema version 2 created it (with
    /// the command as a JSON array), adopted where it exists and created where it does not.
    @Sendable static func adoptContainers(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("""
            CREATE TABLE IF NOT EXISTS containers (
                id                    TEXT PRIMARY KEY,
                name                  TEXT NOT NULL UNIQUE,
                endpoint              TEXT,
                network               TEXT NOT NULL,
                pid                   INTEGER NOT NULL,
                start_time            INTEGER NOT NULL,
                supervisor_pid        INTEGER NOT NULL,
                supervisor_start_time INTEGER NOT NULL,
                command               TEXT NOT NULL,
                hostname              TEXT NOT NULL,
                rootfs                TEXT,
                status                TEXT NOT NULL CHECK (status IN ('created', 'running')),
                created               INTEGER NOT NULL
            ) STRICT;
            """)
    }

    /// Version 2: the command moves from a JSON column to `container_args`, one row per
    /// argument. The table is rebuilt without the column (SQLite's portable way to drop one).
    /// A command the JSON parser cannot read — only a hand-edited database has one — is kept
    /// as a single argument holding the text, so the container still lists and stops.
    @Sendable static func argumentsTable(_ tx: StateTransaction) throws(BerthError) {
        let db = try tx.db()
        let commands = try db.query("SELECT id, command FROM containers") { row in (id: row.text(0), text: row.text(1)) }
        try db.script("""
            CREATE TABLE containers_new (
                id                    TEXT PRIMARY KEY,
                name                  TEXT NOT NULL UNIQUE,
                endpoint              TEXT,
                network               TEXT NOT NULL,
                pid                   INTEGER NOT NULL,
                start_time            INTEGER NOT NULL,
                supervisor_pid        INTEGER NOT NULL,
                supervisor_start_time INTEGER NOT NULL,
                hostname              TEXT NOT NULL,
                rootfs                TEXT,
                status                TEXT NOT NULL CHECK (status IN ('created', 'running')),
                created               INTEGER NOT NULL
            ) STRICT;
            INSERT INTO containers_new
                SELECT id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time,
                       hostname, rootfs, status, created
                FROM containers;
            DROP TABLE containers;
            ALTER TABLE containers_new RENAME TO containers;
            CREATE TABLE container_args (
                container TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
                position  INTEGER NOT NULL CHECK (position >= 0),
                arg       TEXT NOT NULL,
                PRIMARY KEY (container, position)
            ) STRICT, WITHOUT ROWID;
            """)
        for (id, text) in commands {
            let parsed = (try? JSONValue(parsing: text))?.arrayValue.map { $0.compactMap(\.stringValue) }
            let arguments = parsed.flatMap { $0.isEmpty ? nil : $0 } ?? [text]
            try tx.insertArguments(arguments, container: id)
        }
    }
}
