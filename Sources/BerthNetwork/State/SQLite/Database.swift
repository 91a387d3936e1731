internal import CSQLite
import BerthCore

/// One connection to a SQLite database file, with a cache of prepared statements.
///
/// Not thread-safe on its own: `StateStore` keeps it behind a mutex and hands it out to
/// one transaction at a time. Package-visible so that targets above BerthNetwork keep their
/// own tables in the same store (see `StateExtension`); never public.
package final class Database {
    package let path: String
    private let handle: OpaquePointer
    /// Read by the WAL hook (Sources/CSQLite/shim.h): [0] checkpoints deferred, [1] one is due.
    private let deferral: UnsafeMutablePointer<Int32>
    /// The prepared statements, looked up by their SQL's length, then its text. An array,
    /// not a `[String: Statement]`: a process's first `String: Hashable` use costs a scan of
    /// every conformance record in the binary (≈ 0.13 M instructions), which a short-lived
    /// `berth attach` would otherwise pay here, and a store holds a few dozen statements.
    /// Entries are a named type, not a tuple: a tuple type is generic metadata the runtime
    /// builds at its first use.
    private var statements: [CachedStatement] = []
    /// Set while a read transaction runs: any statement that would write is refused, so a
    /// change can never slip past the cross-process lock that only write transactions take.
    var readOnlyGuard = false
    /// The generation of the transaction now running, so that a `StateTransaction` used after
    /// its closure returned is caught instead of writing outside any transaction.
    var activeTransaction: UInt64?
    /// The instance row as the boot check of transaction `instanceGeneration` read it, so
    /// that `StateTransaction.instance()` in the same transaction needs no statement of its
    /// own; 0 (no transaction has it) when none did. Not an optional: its metadata would be
    /// built at first use.
    var instanceGeneration: UInt64 = 0
    var instanceRead = StateInstance(id: "", legacy: false)
    /// How long a statement waits for SQLite's file locks before SQLITE_BUSY.
    let busyTimeoutMilliseconds: Int32

    /// Opens (and, with `create`, creates) the database at `path`.
    ///
    /// `SQLITE_OPEN_NOFOLLOW` refuses a symlink in the database's own name; the store
    /// checks the rest of the path before calling.
    init(path: String, create: Bool, busyTimeoutMilliseconds: Int32 = 5_000) throws(BerthError) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        _ = Self.configureOnce
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        if create { flags |= SQLITE_OPEN_CREATE }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw .sqlite("open \(path)", SQLiteError(code: rc, message: message))
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // Waits for SQLite's own file locks (a reader racing a checkpoint). Writers rarely
        // get here: they already hold the store's flock when they BEGIN IMMEDIATE.
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        // [0] defers, [1] due, [2] the busy timeout the WAL hook restores (shim.h).
        deferral = .allocate(capacity: 3)
        deferral.initialize(repeating: 0, count: 3)
        deferral[2] = busyTimeoutMilliseconds
        _ = berth_sqlite3_small_wal(db, deferral)
    }

    /// Makes SQLite allocate from a bump arena (Sources/CSQLite/shim.h); false once SQLite
    /// is initialised. For a process that exits right after one command.
    static func useArena() -> Bool {
        berth_sqlite3_use_arena() == SQLITE_OK
    }

    /// SQLite's process-wide settings, before the first connection (Sources/CSQLite/shim.h).
    private static let configureOnce: Void = berth_sqlite3_configure()

    deinit {
        statements.removeAll()  // finalizes every cached statement before the close
        sqlite3_close_v2(handle)
        deferral.deallocate()
    }

    /// Whether a commit that fills the WAL leaves the checkpoint to `checkpoint()` (see
    /// `StateStore.deferCheckpoints`) instead of running it at once.
    var defersCheckpoints: Bool {
        get { deferral[0] != 0 }
        set { deferral[0] = newValue ? 1 : 0 }
    }

    /// The most frames a commit of this connection left in the WAL since a checkpoint became
    /// due; 0 when none is.
    var framesDue: Int { Int(deferral[1]) }

    /// Whether a deferred checkpoint is due.
    var checkpointIsDue: Bool { framesDue != 0 }

    /// Copies every WAL frame into the database and empties the WAL (TRUNCATE); the WAL
    /// stays as it is when a reader on an older snapshot holds it for longer than
    /// BERTH_SQLITE3_TRUNCATE_WAIT_MS or another process is checkpointing (shim.h).
    func checkpoint() throws(BerthError) {
        // A connection opens the WAL at its first read, and before SQLite 3.42 a checkpoint
        // on a connection that has not read yet does nothing and reports success.
        try script("PRAGMA user_version")
        let rc = berth_sqlite3_checkpoint(handle, busyTimeoutMilliseconds)
        guard rc == SQLITE_OK else {
            throw .sqlite("checkpoint \(path)", SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle))))
        }
        deferral[1] = 0
    }

    /// Starts an emptied WAL: rewrites `user_version`, unchanged, in a transaction of its own.
    ///
    /// The first commit into an empty WAL writes the WAL's header and syncs it before its
    /// frames (SQLite's guard against a reordered write after a WAL restart; also under
    /// synchronous=NORMAL), and a process's first sync of the WAL syncs the directory too:
    /// 2–4 ms on this machine's disk, which the first command after every checkpoint paid
    /// (docs/performance.md, "The hook's waits"). This commit pays them instead — one frame, page 1 as it
    /// was — so what the next command writes is appended without a sync. The caller holds
    /// the store's lock, so no command's write waits in SQLite's busy handler meanwhile; a
    /// writer outside Berth (the sqlite3 shell) is waited for BERTH_SQLITE3_TRUNCATE_WAIT_MS
    /// at most, as a TRUNCATE is, so that the store's lock is not held for the busy timeout.
    func startWAL() throws(BerthError) {
        sqlite3_busy_timeout(handle, Int32(BERTH_SQLITE3_TRUNCATE_WAIT_MS))
        defer { sqlite3_busy_timeout(handle, busyTimeoutMilliseconds) }
        try script("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE")
        do throws(BerthError) {
            let version = try queryFirst("PRAGMA user_version") { row in row.int(0) } ?? 0
            try script("PRAGMA user_version = \(version); COMMIT")
        } catch {
            try? script("ROLLBACK")
            throw error
        }
    }

    /// Runs one or more statements without parameters (schema, pragmas, BEGIN/COMMIT).
    package func script(_ sql: String) throws(BerthError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw .sqlite("execute", sql: sql, SQLiteError(code: sqlite3_extended_errcode(handle), message: text))
        }
    }

    /// Runs a statement that returns no rows; returns the number of rows it changed.
    @discardableResult
    package func execute(_ sql: String, _ values: [SQLValue] = []) throws(BerthError) -> Int {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs a query and maps every row it returns.
    package func query<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (borrowing Row) throws(BerthError) -> T) throws(BerthError) -> [T] {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(values)
        var result: [T] = []
        while try statement.step() {
            result.append(try map(Row(statement)))
        }
        return result
    }

    /// Runs a query and maps its first row, if any.
    package func queryFirst<T>(_ sql: String, _ values: [SQLValue] = [], _ map: (borrowing Row) throws(BerthError) -> T) throws(BerthError) -> T? {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(values)
        guard try statement.step() else { return nil }
        return try map(Row(statement))
    }

    /// Runs a query and hands each row to `body` without collecting them.
    package func forEach(_ sql: String, _ values: [SQLValue] = [], _ body: (borrowing Row) throws(BerthError) -> Void) throws(BerthError) {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() { try body(Row(statement)) }
    }

    /// The cached statement for `sql`, prepared on first use.
    func prepared(_ sql: String) throws(BerthError) -> Statement {
        let statement: Statement
        let length = sql.utf8.count
        if let cached = statements.first(where: { $0.length == length && $0.sql == sql }) {
            statement = cached.statement
        } else {
            var raw: OpaquePointer?
            let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
            guard rc == SQLITE_OK, let raw else {
                throw .sqlite("prepare", sql: sql, SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle))))
            }
            statement = Statement(sql: sql, handle: raw)
            statements.append(CachedStatement(length: length, sql: sql, statement: statement))
        }
        if readOnlyGuard && !statement.isReadOnly {
            throw BerthError(.internalError, "state database: \"\(sql)\" writes, but it ran in a read transaction",
                             hint: "use StateStore.write for changes")
        }
        return statement
    }

    /// Whether the connection is inside an open transaction.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
}

/// One entry of `Database`'s statement cache.
private struct CachedStatement {
    let length: Int
    let sql: String
    let statement: Statement
}
