import BerthCore
import BerthNetwork

/// BerthRun's tables in the shared state store: `containers` and `container_args`,
/// versioned apart from BerthNetwork's tables as the owner "BerthRun".
///
/// A container row lives from creation until removal; its process and supervisor columns are
/// set while it runs. pid and start time (field 22 of /proc/PID/stat) together name one
/// process, so a reused pid is never mistaken for it. The endpoint, when there is one, has
/// the container's id; it is not a foreign key because the endpoint exists only while the
/// command runs, and garbage collection may remove that of a dead namespace first.
///
/// The command is stored one argument per row of `container_args`, in order: it is read back
/// as it was given, with nothing to parse.
enum ContainerSchema {
    static let owner = "BerthRun"

    static let stateExtension = StateExtension(owner: owner, migrations: [adoptContainers, argumentsTable, lifeCycle, oomKilled, restartRequested, containerBoot, removedExits, killDeadline])

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

    /// Version 3: containers outlive their command (exited ones stay until removed, as in
    /// Docker). The process and supervisor columns become nullable (set while it runs), the
    /// status gains `restarting` and `exited`, and each row gains its times, last exit, restart
    /// count, the stop flag its supervisor obeys, and its settings (the `RunOptions` as JSON,
    /// without the command) for a later start. Rows of an older berth — running containers —
    /// keep running; with no settings recorded they cannot be started again once stopped.
    ///
    /// `container_args` references `containers` with ON DELETE CASCADE, and dropping a table
    /// deletes its rows first (cascading, with foreign keys on, which cannot be switched off
    /// inside the migration's transaction): so the arguments are set aside, both tables
    /// rebuilt, and the arguments put back.
    @Sendable static func lifeCycle(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("""
            CREATE TEMP TABLE container_args_saved AS SELECT container, position, arg FROM container_args;
            DROP TABLE container_args;
            CREATE TABLE containers_new (
                id                    TEXT PRIMARY KEY,
                name                  TEXT NOT NULL UNIQUE,
                endpoint              TEXT,
                network               TEXT NOT NULL,
                pid                   INTEGER,
                start_time            INTEGER,
                supervisor_pid        INTEGER,
                supervisor_start_time INTEGER,
                hostname              TEXT NOT NULL,
                rootfs                TEXT,
                status                TEXT NOT NULL CHECK (status IN ('created', 'running', 'restarting', 'exited')),
                created               INTEGER NOT NULL,
                started               INTEGER,
                finished              INTEGER,
                exit_code             INTEGER,
                restart_count         INTEGER NOT NULL DEFAULT 0 CHECK (restart_count >= 0),
                stop_requested        INTEGER NOT NULL DEFAULT 0 CHECK (stop_requested IN (0, 1)),
                settings              TEXT,
                CHECK ((pid IS NULL) = (start_time IS NULL)),
                CHECK ((supervisor_pid IS NULL) = (supervisor_start_time IS NULL))
            ) STRICT;
            INSERT INTO containers_new (id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time,
                                        hostname, rootfs, status, created, started)
                SELECT id, name, endpoint, network, pid, start_time, supervisor_pid, supervisor_start_time,
                       hostname, rootfs, status, created, created
                FROM containers;
            DROP TABLE containers;
            ALTER TABLE containers_new RENAME TO containers;
            CREATE TABLE container_args (
                container TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
                position  INTEGER NOT NULL CHECK (position >= 0),
                arg       TEXT NOT NULL,
                PRIMARY KEY (container, position)
            ) STRICT, WITHOUT ROWID;
            INSERT INTO container_args SELECT container, position, arg FROM container_args_saved;
            DROP TABLE container_args_saved;
            """)
    }

    /// Version 4: whether the OOM killer ended a process of the container's last run
    /// (Docker's `OOMKilled`), read from its cgroup when the run ends. Older rows: false.
    @Sendable static func oomKilled(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0 CHECK (oom_killed IN (0, 1));")
    }

    /// Version 5: the stop under way is the first half of a restart (`berth restart`): the
    /// end it causes keeps a container to be removed on exit (`--rm`) for the start that
    /// follows, as Docker's `HasBeenManuallyRestarted` skips its auto-removal. Older rows: 0.
    @Sendable static func restartRequested(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("ALTER TABLE containers ADD COLUMN restart_requested INTEGER NOT NULL DEFAULT 0 CHECK (restart_requested IN (0, 1));")
    }

    /// Version 6: `container_boot`, the boot (`KernelAccess.bootID`) the containers' process
    /// and supervisor identities belong to, one row; a process that finds another boot there
    /// settles the containers first (`ContainerBoot`). Empty until a process records its boot.
    @Sendable static func containerBoot(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("CREATE TABLE container_boot (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), boot TEXT NOT NULL) STRICT;")
    }

    /// Version 7: `container_exits`, the exit status of a container removed when it ended
    /// (`--rm`), kept an hour after its row is gone, so that `wait` started before the end
    /// still answers it, as Docker's daemon does for its waiters.
    @Sendable static func removedExits(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("""
            CREATE TABLE container_exits (
                id        TEXT PRIMARY KEY,
                exit_code INTEGER NOT NULL,
                finished  INTEGER NOT NULL
            ) STRICT, WITHOUT ROWID;
            """)
    }

    /// Version 8: `kill_at`, when the stop under way escalates to SIGKILL — milliseconds on
    /// CLOCK_MONOTONIC, which every process of one boot reads alike (rows of an earlier boot
    /// are settled first: `ContainerBoot`). `stop` records it with the stop flag and the
    /// supervisor sends the SIGKILL then, so the stop completes even if the `stop` that asked
    /// for it dies while it waits. NULL: no SIGKILL (no stop under way, or `stop -t -1`).
    @Sendable static func killDeadline(_ tx: StateTransaction) throws(BerthError) {
        try tx.db().script("ALTER TABLE containers ADD COLUMN kill_at INTEGER;")
    }
}
