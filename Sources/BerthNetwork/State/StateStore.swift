#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import Synchronization

/// Berth's recorded state: networks, endpoints, address leases and port mappings, in one
/// SQLite database inside a private state directory.
///
/// Every change runs through `write`, one `BEGIN IMMEDIATE` transaction under an exclusive
/// `flock` on the directory's `lock` file, so separate `berth` processes serialize: two
/// concurrent attaches can never lease the same address or claim the same port. Reads run
/// through `read` and take no lock (WAL lets them proceed beside a writer).
///
/// The directory is created 0700 and its files 0600; a symlink planted as the directory,
/// the database, its WAL/SHM files or the lock file is refused, never followed.
public final class StateStore: Sendable {
    /// Where state lives unless `--state-dir` or `BERTH_STATE_DIR` says otherwise.
    public static let defaultDirectory = "/var/lib/berth"
    /// The environment variable that moves the state directory.
    public static let directoryEnvironmentVariable = "BERTH_STATE_DIR"
    /// The database's file name inside the state directory.
    public static let databaseName = "state.db"
    /// The lock file's name inside the state directory.
    public static let lockName = "lock"

    /// The state directory this store uses.
    public let directory: String
    /// How long `write` waits for another process to release the lock.
    public let lockTimeout: Duration

    private let connection: Mutex<Connection>
    private let lock: StateLock
    /// The owners whose tables `prepare` found current; later calls cost nothing.
    private let preparedExtensions = Mutex<Set<String>>([])

    /// The state directory to use: an explicit `--state-dir` value, else `BERTH_STATE_DIR`,
    /// else `/var/lib/berth`.
    public static func resolveDirectory(_ option: String? = nil) -> String {
        if let option, !option.isEmpty { return option }
        if let value = getenv(directoryEnvironmentVariable) {
            let text = String(cString: value)
            if !text.isEmpty { return text }
        }
        return defaultDirectory
    }

    /// Opens the store in `directory`, creating the directory, the database and its schema
    /// on first use.
    public init(directory: String = StateStore.resolveDirectory(), lockTimeout: Duration = .seconds(30)) throws(BerthError) {
        // Trailing slashes would make "dir/" + "/state.db"; keep "/" itself as it is.
        var directory = directory
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        self.directory = directory
        self.lockTimeout = lockTimeout

        let dirfd = try StateFiles.openDirectory(directory)
        defer { close(dirfd) }
        let lockfd = try StateFiles.openFile(Self.lockName, in: dirfd, directoryPath: directory)
        let lock = StateLock(descriptor: lockfd, path: directory + "/" + Self.lockName)
        self.lock = lock
        // Created here, not by SQLite, so it is 0600 from the start; SQLite gives the -wal
        // and -shm files the database file's permissions.
        close(try StateFiles.openFile(Self.databaseName, in: dirfd, directoryPath: directory))
        try StateFiles.refuseSymlink(Self.databaseName + "-wal", in: dirfd, directoryPath: directory)
        try StateFiles.refuseSymlink(Self.databaseName + "-shm", in: dirfd, directoryPath: directory)

        let db = try Database(path: directory + "/" + Self.databaseName, create: false)
        // synchronous=NORMAL in WAL mode syncs the WAL only at checkpoints, not at each
        // commit: a committed transaction survives any crash of the process (the WAL is in
        // the page cache), and only a power loss or kernel crash can roll back the last few
        // commits — while leaving the database consistent. Berth's state describes kernel
        // objects that a reboot destroys anyway, so process-crash durability is what it needs,
        // and each attach saves an fsync.
        try db.script("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        try Self.prepareSchema(db, lock: lock, timeout: lockTimeout)
        connection = Mutex(Connection(db))
    }

    /// The full path of the database file.
    public var databasePath: String { directory + "/" + Self.databaseName }

    /// Runs `body` as one write transaction under the cross-process lock: either all of its
    /// changes are committed or, if it throws, none are.
    public func write<T: Sendable>(_ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        try connection.withLock { (connection: inout Connection) throws(BerthError) -> T in
            try lock.acquire(timeout: lockTimeout)
            defer { lock.release() }
            return try connection.transaction(writable: true, body)
        }
    }

    /// Runs `body` as one read transaction: a consistent snapshot, no lock, no changes.
    public func read<T: Sendable>(_ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        try connection.withLock { (connection: inout Connection) throws(BerthError) -> T in
            try connection.transaction(writable: false, body)
        }
    }

    /// Brings the tables of a higher target (`StateExtension`) up to date: a no-op once done
    /// in this process, one read when they are current, else one locked write transaction
    /// that runs the missing migrations. Call it before the owner's first query.
    package func prepare(_ schema: StateExtension) throws(BerthError) {
        if preparedExtensions.withLock({ $0.contains(schema.owner) }) { return }
        let found = try read { tx throws(BerthError) in try tx.schemaVersion(of: schema.owner) }
        if found != schema.currentVersion {
            // Checked again under the lock: another process may have migrated meanwhile.
            try write { tx throws(BerthError) in try tx.migrate(schema) }
        }
        preparedExtensions.withLock { _ = $0.insert(schema.owner) }
    }

    /// Switches a new database to WAL and brings its schema up to date, under the lock so
    /// that processes opening a fresh store together do it once. Costs one read when the
    /// store is already current.
    private static func prepareSchema(_ db: Database, lock: StateLock, timeout: Duration) throws(BerthError) {
        let mode = try db.queryFirst("PRAGMA journal_mode") { row in row.text(0) }
        if mode == "wal", try StateSchema.version(db) == StateSchema.currentVersion { return }
        try lock.acquire(timeout: timeout)
        defer { lock.release() }
        // WAL is a property of the file, kept across opens; it cannot change inside a transaction.
        let newMode = try db.queryFirst("PRAGMA journal_mode = WAL") { row in row.text(0) }
        guard newMode == "wal" else {
            throw BerthError(.state, "state database \(db.path) cannot use WAL journaling (got \"\(newMode ?? "nothing")\")",
                             hint: "keep the state directory on a local filesystem")
        }
        // Its own transaction: a migration that rebuilds tables needs foreign keys off
        // around it, which cannot change inside one.
        try StateSchema.migrate(db)
    }
}

/// The database connection together with the count that tells transactions apart.
struct Connection: ~Copyable {
    let database: Database
    private var generation: UInt64 = 0

    init(_ database: Database) { self.database = database }

    mutating func transaction<T>(writable: Bool, _ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        generation &+= 1
        let db = database
        try db.script(writable ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
        db.readOnlyGuard = !writable
        db.activeTransaction = generation
        defer {
            db.readOnlyGuard = false
            db.activeTransaction = nil
        }
        do {
            let result = try body(StateTransaction(database: db, generation: generation, isWritable: writable))
            try db.script("COMMIT")
            return result
        } catch {
            // A failed COMMIT (or body) leaves nothing half-done: roll back whatever is open.
            if db.inTransaction { try? db.script("ROLLBACK") }
            throw error
        }
    }
}
