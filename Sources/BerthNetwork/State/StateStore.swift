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
/// through `read` and take no cross-process lock: WAL lets them proceed beside a writer. In
/// one process a read never waits for a write either: a write holds the store's connection
/// for its whole transaction (waiting up to `lockTimeout` for another process's lock, and in
/// an attach for the DNS resolver to answer), so a read made meanwhile runs on a second,
/// read-only connection, opened on first such need.
///
/// The directory is created 0700 and its files 0600; a symlink planted as the directory,
/// the database, its WAL/SHM files or the lock file is refused, never followed.
public final class StateStore: Sendable {
    /// Where state lives unless the caller names another directory or `BERTH_STATE_DIR` does.
    public static let defaultDirectory = "/var/lib/berth"
    /// The environment variable that moves the state directory.
    public static let directoryEnvironmentVariable = "BERTH_STATE_DIR"
    /// The database's file name inside the state directory.
    public static let databaseName = "state.db"
    /// The lock file's name inside the state directory.
    public static let lockName = "lock"

    /// How long `write` waits for another process to release the lock unless told otherwise.
    public static let defaultLockTimeout: Duration = .seconds(30)

    /// The state directory this store uses.
    public let directory: String
    /// How long `write` waits for another process to release the lock.
    public let lockTimeout: Duration
    /// The lock budget: a deadline `totalLockWait` after the moment the store was opened,
    /// past which none of its waits for a lock lasts (each waits for what is left of it, or
    /// not at all once it has passed); nil when each may last `lockTimeout`. A deadline, not
    /// a sum of waits: the time spent working between waits counts too, as it does for a
    /// process that must finish in a given time however many changes it makes (an OCI
    /// hook, killed at its timeout).
    public let totalLockWait: Duration?
    /// When `totalLockWait` runs out, on `MonotonicClock`.
    private let lockDeadline: Duration?

    private let connection: Mutex<Connection>
    /// The connection reads use while a write holds `connection`; opened on first need, so
    /// a process that never reads beside a write (a CLI's attach) never opens it.
    private let readConnection = Mutex<ReadConnection>(ReadConnection())
    /// The boot `bind(boot:)` declared, and whether the state is known to record it.
    private let bootBinding = BootBinding()
    private let lock: StateLock
    /// The owners whose tables `prepare` found current; later calls cost nothing.
    private let preparedExtensions = Mutex<Set<String>>([])

    /// The state directory to use: `option` when given and not empty (a front end's own
    /// setting), else `BERTH_STATE_DIR`, else `/var/lib/berth`.
    public static func resolveDirectory(_ option: String? = nil) -> String {
        if let option, !option.isEmpty { return option }
        if let value = getenv(directoryEnvironmentVariable) {
            let text = String(cString: value)
            if !text.isEmpty { return text }
        }
        return defaultDirectory
    }

    /// `directory` from the root: a relative one is taken from the working directory once,
    /// here, so what the store says and hands on (to a detached supervisor, the resolver) is
    /// the same directory wherever they run. Left as given if the working directory cannot
    /// be read (the directory's own checks then report that).
    public static func absolute(_ directory: String) -> String {
        guard !directory.isEmpty, !directory.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return directory }
        defer { free(cwd) }
        var relative = Substring(directory)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2).drop { $0 == "/" } }
        let base = String(cString: cwd)
        if relative.isEmpty || relative == "." { return base }
        return (base == "/" ? "" : base) + "/" + relative
    }

    /// Opens the store in `directory`, creating the directory, the database and its schema
    /// on first use. Each wait for another process's lock lasts at most `lockTimeout`, and
    /// none past `totalLockWait` from now when given (see the property).
    public init(directory: String = StateStore.resolveDirectory(), lockTimeout: Duration = StateStore.defaultLockTimeout,
                totalLockWait: Duration? = nil) throws(BerthError) {
        // Trailing slashes would make "dir/" + "/state.db"; keep "/" itself as it is.
        var directory = Self.absolute(directory)
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        self.directory = directory
        self.lockTimeout = lockTimeout
        self.totalLockWait = totalLockWait
        let lockDeadline = totalLockWait.map { MonotonicClock.now + $0 }
        self.lockDeadline = lockDeadline

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
        try Self.prepareSchema(db, lock: lock) { () throws(BerthError) in
            try lock.acquire(Self.wait(timeout: lockTimeout, deadline: lockDeadline, budget: totalLockWait))
        }
        connection = Mutex(Connection(db))
    }

    /// How long a wait for a lock may last now: `lockTimeout`, or what is left until the
    /// `totalLockWait` deadline when that is less — zero once it has passed (a free lock is
    /// still taken; a held one is not waited for).
    public var lockWait: Duration { lockWaitLimit.limit }

    /// `lockWait`, with the budget when it set it (`LockWait`): other locks a change takes
    /// under the state's (the subnet choice's) wait no longer than this either, and say,
    /// when they run out, that the budget did.
    public var lockWaitLimit: LockWait { Self.wait(timeout: lockTimeout, deadline: lockDeadline, budget: totalLockWait) }

    private static func wait(timeout: Duration, deadline: Duration?, budget: Duration?) -> LockWait {
        guard let deadline else { return LockWait(limit: timeout) }
        let left = max(.zero, deadline - MonotonicClock.now)
        return left < timeout ? LockWait(limit: left, budget: budget) : LockWait(limit: timeout)
    }

    /// The full path of the database file.
    public var databasePath: String { directory + "/" + Self.databaseName }

    /// Runs `body` as one write transaction under the cross-process lock: either all of its
    /// changes are committed or, if it throws, none are.
    public func write<T: Sendable>(_ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        try connection.withLock { (connection: inout Connection) throws(BerthError) -> T in
            try lock.acquire(lockWaitLimit)
            defer { lock.release() }
            return try connection.transaction(writable: true, settling: bootBinding, body)
        }
    }

    /// Runs `body` as one read transaction: a consistent snapshot, no lock, no changes.
    ///
    /// It does not wait for a write of this process: when another thread's write holds the
    /// store's connection, the read runs on a read-only connection of its own (opened the
    /// first time), and sees what was committed before it began.
    ///
    /// Records of an earlier boot are never read as live: when this process's first
    /// transaction is a read and the state records another boot than `bind(boot:)` gave,
    /// a write transaction settles the boot first (see `StateTransaction+Boot`); that read
    /// waits for the write lock, once.
    public func read<T: Sendable>(_ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        try settleBootForReads()
        // The store's own connection when no write holds it: a process that reads only
        // between its writes (a CLI's attach) opens no second connection.
        let onWriteConnection = try connection.withLockIfAvailable { (connection: inout Connection) throws(BerthError) -> T in
            try connection.transaction(writable: false, settling: nil, body)
        }
        if let result = onWriteConnection { return result }
        return try readConnection.withLock { (reader: inout ReadConnection) throws(BerthError) -> T in
            try reader.transaction(directory: directory, body)
        }
    }

    /// Makes sure the state records this process's boot before a read (see `read`): one
    /// read of the recorded boot the first time, a write transaction that settles it when
    /// it is another one, nothing once settled.
    private func settleBootForReads() throws(BerthError) {
        guard let boot = bootBinding.unsettled else { return }
        // Read on whichever connection is free, as `read` does; the binding's lock is not
        // held meanwhile (a write takes it to settle).
        let recorded: String
        if let read = try connection.withLockIfAvailable({ (connection: inout Connection) throws(BerthError) -> String in
            try connection.transaction(writable: false, settling: nil) { tx throws(BerthError) in try tx.recordedBoot() }
        }) {
            recorded = read
        } else {
            recorded = try readConnection.withLock { (reader: inout ReadConnection) throws(BerthError) -> String in
                try reader.transaction(directory: directory) { tx throws(BerthError) in try tx.recordedBoot() }
            }
        }
        if recorded == boot {
            bootBinding.settled(boot)
        } else {
            // The write settles it (and forgets what the earlier boot left) before its body.
            try write { _ throws(BerthError) in }
        }
    }

    /// Runs `body` as one read transaction while holding the cross-process lock, if no
    /// other process (or store) holds it: then no write is under way, and what the
    /// snapshot shows marked as begun (an endpoint detaching, a network creating or
    /// removing) is what an interrupted operation left. Returns nil, running nothing, when
    /// the lock is held: an operation is under way, and its marks may be its own. Never
    /// waits; the lock is held for the read only.
    public func readIfIdle<T: Sendable>(_ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T? {
        try connection.withLock { (connection: inout Connection) throws(BerthError) -> T? in
            guard try lock.tryAcquire() else { return nil }
            defer { lock.release() }
            if bootBinding.unsettled != nil {
                // As `read` does, with the lock already held: a write settles the boot.
                try connection.transaction(writable: true, settling: bootBinding) { _ throws(BerthError) in }
            }
            return try connection.transaction(writable: false, settling: nil, body)
        }
    }

    /// Declares the boot this process runs in (`KernelAccess.bootID`; `NetworkManager` gives
    /// its host's). The first transaction after it makes the state record that boot, and
    /// when the state recorded another one, forgets every endpoint, publication and the
    /// resolver record of that earlier boot, whose kernel objects a reboot destroyed. nil
    /// (the boot cannot be read) checks nothing.
    public func bind(boot: String?) {
        bootBinding.bind(boot)
    }

    /// Declares that this process exits right after its work, as a CLI's attach or detach
    /// does: a commit that fills the WAL past the checkpoint threshold no longer runs the
    /// checkpoint (two fdatasyncs, ≈ 1–8 ms, in one call out of four) before returning;
    /// `checkpointIsDue` says one is due, and the caller starts a process of its own that
    /// runs `StateStore.checkpoint(directory:)`. Durability does not change: a committed
    /// transaction is in the WAL either way, and a checkpoint that never runs only leaves
    /// the next commit to ask again. A process that lives on must not call this.
    package func deferCheckpoints() {
        connection.withLock { $0.database.defersCheckpoints = true }
    }

    /// Declares, before the process opens its first store, that it exits right after one
    /// command (a CLI's attach or detach): SQLite then allocates from a bump arena that is
    /// never given back (Sources/CSQLite/shim.h), sparing ~0.35 M instructions of malloc and
    /// free per command. Returns false, changing nothing, once SQLite is in use. A process
    /// that lives on must not call this.
    @discardableResult
    package static func allocateForOneCommand() -> Bool {
        Database.useArena()
    }

    /// Whether a checkpoint deferred by `deferCheckpoints` is due.
    public var checkpointIsDue: Bool {
        connection.withLock { $0.database.checkpointIsDue }
    }

    /// How many frames this store's commits left in the WAL, at most, since a deferred
    /// checkpoint became due; 0 when none is.
    package var walFramesDue: Int {
        connection.withLock { $0.database.framesDue }
    }

    /// Runs a due checkpoint in this process: what a caller does when it cannot start one
    /// elsewhere.
    public func checkpoint() throws(BerthError) {
        try connection.withLock { (connection: inout Connection) throws(BerthError) in try connection.database.checkpoint() }
    }

    /// Checkpoints the state database in `directory`: copies every WAL frame into the
    /// database file and empties the WAL, waiting for other processes' transactions as a
    /// writer does; then, when the WAL is empty and the store's lock free, starts the WAL
    /// afresh (`Database.startWAL`: its header's sync, which the next command's commit would
    /// otherwise wait for). What a deferred checkpoint runs, in a process of its own; it
    /// changes no record and never waits for the store's lock, so it may run beside any Berth
    /// command.
    public static func checkpoint(directory: String) throws(BerthError) {
        // Never created here: a directory that went away has nothing to checkpoint.
        var info = stat()
        guard lstat(directory, &info) == 0 else { throw BerthError(.notFound, "state directory \(directory) does not exist") }
        let dirfd = try StateFiles.openDirectory(directory)
        defer { close(dirfd) }
        for name in [databaseName, databaseName + "-wal", databaseName + "-shm"] {
            try StateFiles.refuseSymlink(name, in: dirfd, directoryPath: directory)
        }
        let database = try Database(path: directory + "/" + databaseName, create: false)
        try database.checkpoint()
        startWAL(of: database, in: dirfd, directory: directory)
    }

    /// `Database.startWAL` under the store's lock, taken without waiting: a command that
    /// holds it writes into the WAL itself, and one that comes meanwhile waits on the lock
    /// (in short polls) rather than in SQLite's busy handler, whose first sleep is 1 ms.
    /// Nothing when the WAL has frames (the checkpoint gave up, or a command wrote first) or
    /// the lock file is missing. Best effort: a WAL left empty is what the next command
    /// starts itself, as before.
    private static func startWAL(of database: Database, in dirfd: Int32, directory: String) {
        let descriptor = openat(dirfd, lockName, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        let lock = StateLock(descriptor: descriptor, path: directory + "/" + lockName)
        guard (try? lock.tryAcquire()) == true else { return }
        defer { lock.release() }
        var info = stat()
        guard fstatat(dirfd, databaseName + "-wal", &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG,
              info.st_size == 0 else { return }
        try? database.startWAL()
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
    private static func prepareSchema(_ db: Database, lock: StateLock, acquire: () throws(BerthError) -> Void) throws(BerthError) {
        let mode = try db.queryFirst("PRAGMA journal_mode") { row in row.text(0) }
        if mode == "wal", try StateSchema.version(db) == StateSchema.currentVersion { return }
        try acquire()
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

/// The boot this process runs in (`StateStore.bind(boot:)`; nil checks nothing) and
/// whether the state is known to record it: checked by the first write transaction (or
/// read, `StateStore.read`), then never again in this process — which cannot outlive a
/// boot. Its own lock, taken briefly and never around another: reads on the second
/// connection consult it while a write holds the first.
final class BootBinding: Sendable {
    private struct State {
        var boot: String?
        var settled = false
    }

    private let state = Mutex<State>(State())

    /// The bound boot while the state is not known to record it; nil once it is (or when
    /// no boot is bound).
    var unsettled: String? { state.withLock { $0.settled ? nil : $0.boot } }

    /// Binds `boot`; a boot other than the one bound is unsettled again.
    func bind(_ boot: String?) {
        state.withLock { state in
            guard state.boot != boot else { return }
            state.boot = boot
            state.settled = false
        }
    }

    /// Records that the state records `boot`, unless another boot was bound meanwhile.
    func settled(_ boot: String) {
        state.withLock { if $0.boot == boot { $0.settled = true } }
    }
}

/// The second connection `StateStore.read` uses while a write holds the first; nil until
/// first needed.
struct ReadConnection: ~Copyable {
    private var connection: Connection?

    init() {}

    /// Runs `body` as a read transaction on this connection, opening it the first time
    /// (the checks the store's `init` made of the database's files, made again).
    mutating func transaction<T>(directory: String, _ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
        var open: Connection
        if let existing = connection.take() {
            open = existing
        } else {
            open = Connection(try Self.openDatabase(directory: directory))
        }
        // Put back whether the body throws or not (a noncopyable value cannot go back in a
        // `defer`).
        do throws(BerthError) {
            let result = try open.transaction(writable: false, settling: nil, body)
            connection = consume open
            return result
        } catch {
            connection = consume open
            throw error
        }
    }

    /// Opens the second connection, making again the checks the store's `init` made of the
    /// database's files.
    private static func openDatabase(directory: String) throws(BerthError) -> Database {
        let dirfd = try StateFiles.openDirectory(directory)
        defer { close(dirfd) }
        try StateFiles.refuseSymlink(StateStore.databaseName + "-wal", in: dirfd, directoryPath: directory)
        try StateFiles.refuseSymlink(StateStore.databaseName + "-shm", in: dirfd, directoryPath: directory)
        let database = try Database(path: directory + "/" + StateStore.databaseName, create: false)
        // Reads only: each transaction's guard refuses a writing statement; this refuses
        // one at the connection too.
        try database.script("PRAGMA query_only = ON;")
        return database
    }
}

/// The database connection together with the count that tells transactions apart.
struct Connection: ~Copyable {
    let database: Database
    private var generation: UInt64 = 0

    init(_ database: Database) { self.database = database }

    /// One transaction. A writable one first settles the boot `boot` binds (when not
    /// settled yet): it makes the state record it, forgetting an earlier boot's records.
    mutating func transaction<T>(writable: Bool, settling boot: BootBinding?,
                                 _ body: (StateTransaction) throws(BerthError) -> T) throws(BerthError) -> T {
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
            let transaction = StateTransaction(database: db, generation: generation, isWritable: writable)
            if writable, let binding = boot, let current = binding.unsettled {
                // The instance row is read here, not again by `instance()`: the check costs
                // no statement of its own. A forget commits at once, so a body that fails
                // after it leaves the state settled all the same.
                if try transaction.settleBoot(current) { try transaction.commitAndContinue() }
                binding.settled(current)
            }
            let result = try body(transaction)
            // A body may have committed itself (`StateTransaction.commit`).
            if db.inTransaction { try db.script("COMMIT") }
            return result
        } catch {
            // A failed COMMIT (or body) leaves nothing half-done: roll back whatever is open.
            if db.inTransaction { try? db.script("ROLLBACK") }
            throw error
        }
    }
}
