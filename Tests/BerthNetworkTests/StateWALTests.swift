import BerthCore
@testable import BerthNetwork
import Foundation
import Testing

/// The WAL of a store that short-lived processes open one after another (Sources/CSQLite/shim.h):
/// kept between processes, checkpointed once 64 frames pile up, restarted from its start by
/// the next write, so that a fresh process's index rebuild reads only a short WAL.
@Suite("StateStore: a short WAL")
struct StateWALTests {
    /// One WAL frame: a 24-byte header and a 4 KiB page; the file starts with a 32-byte header.
    static func frames(ofWALAt path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size >= 32 else { return 0 }
        return (Int(info.st_size) - 32) / (24 + 4096)
    }

    @Test("opened anew for each of 300 commits, as one process per attach does, the WAL never holds more than the checkpoint threshold and one transaction, and every row reaches the database")
    func walStaysShortAcrossOpens() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let wal = temp.directory + "/state.db-wal"
        _ = try temp.open().write { tx throws(BerthError) in try tx.db().execute("CREATE TABLE scratch (payload BLOB)") }
        var largest = 0
        for _ in 0..<300 {
            // A store of its own each time, closed at the end of the iteration: its index is
            // rebuilt from the WAL file, as in a new process. About three quarters of a page
            // per row: every commit writes one or two new pages.
            _ = try temp.open().write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
            largest = max(largest, Self.frames(ofWALAt: wal))
        }
        // At most 63 frames below the threshold plus one transaction's pages. A checkpoint that
        // left the frames in the file (PASSIVE) would let it grow: a rebuilt index counts
        // them as new.
        #expect(largest >= 8 && largest <= 72, "largest WAL: \(largest) frames")
        // The checkpoints copied the rows into the database file itself (300 × 3,000 bytes).
        var info = stat()
        #expect(stat(temp.directory + "/state.db", &info) == 0 && info.st_size > 800_000, "state.db: \(info.st_size) bytes")
        #expect(try temp.open().read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } } == 300)
    }

    @Test("a store that defers its checkpoints lets the WAL pass the threshold and says one is due; StateStore.checkpoint(directory:) then empties it, starts it afresh with one frame, and every row and the schema version stay")
    func deferredCheckpoint() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let wal = temp.directory + "/state.db-wal"
        do {
            let store = try temp.open()
            store.deferCheckpoints()
            _ = try store.write { tx throws(BerthError) in try tx.db().execute("CREATE TABLE scratch (payload BLOB)") }
            #expect(!store.checkpointIsDue)
            #expect(store.walFramesDue == 0)
            for _ in 0..<100 {
                _ = try store.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
            }
            #expect(store.checkpointIsDue)
            #expect(Self.frames(ofWALAt: wal) > 80, "WAL: \(Self.frames(ofWALAt: wal)) frames")
            // What a start-path command weighs against CheckpointLauncher.startPathFrames.
            #expect(store.walFramesDue == Self.frames(ofWALAt: wal))
            let version = try store.read { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA user_version") { $0.int(0) } }
            // As the process a CLI command starts does, beside the store still open: the WAL
            // emptied, then started afresh by one commit of its own (page 1 unchanged), so that
            // the header's sync is the checkpoint's, not the next command's.
            try StateStore.checkpoint(directory: temp.directory)
            #expect(Self.frames(ofWALAt: wal) == 1)
            #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA user_version") { $0.int(0) } } == version)
            #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } } == 100)
            // The next commit appends after that frame.
            _ = try store.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(10))") }
            #expect(Self.frames(ofWALAt: wal) >= 2)
        }
        #expect(try temp.open().read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } } == 101)
        // A directory that is not a state directory is refused, not created.
        #expect(throws: BerthError.self) { try StateStore.checkpoint(directory: temp.root + "/missing") }
    }

    @Test("a deferred checkpoint beside a reader on an older snapshot copies what it can and leaves the WAL without failing, instead of holding the writer lock for the busy timeout; the next one empties it")
    func checkpointBesideLongReader() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let wal = temp.directory + "/state.db-wal"
        let writer = try temp.open()
        writer.deferCheckpoints()
        _ = try writer.write { tx throws(BerthError) in try tx.db().execute("CREATE TABLE scratch (payload BLOB)") }
        for _ in 0..<100 {
            _ = try writer.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
        }
        let reader = try temp.open()
        try reader.read { tx throws(BerthError) in
            // The reader's snapshot: 100 rows. Then a commit it does not see.
            #expect(try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } == 100)
            _ = try writer.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
            // TRUNCATE cannot reset the WAL while this snapshot is read: it gives up after
            // BERTH_SQLITE3_TRUNCATE_WAIT_MS (shim.h; with the 5 s busy timeout it threw SQLITE_BUSY).
            try StateStore.checkpoint(directory: temp.directory)
            #expect(Self.frames(ofWALAt: wal) > 0)
            // The writer lock was given back: another commit goes through.
            _ = try writer.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
        }
        try StateStore.checkpoint(directory: temp.directory)
        #expect(Self.frames(ofWALAt: wal) == 1)
        #expect(try reader.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } } == 102)
    }

    @Test("a checkpoint while another process holds the state lock empties the WAL without waiting for the lock and leaves it empty for that process's commit to start")
    func checkpointBesideLockHolder() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let wal = temp.directory + "/state.db-wal"
        let store = try temp.open()
        store.deferCheckpoints()
        _ = try store.write { tx throws(BerthError) in try tx.db().execute("CREATE TABLE scratch (payload BLOB)") }
        for _ in 0..<100 {
            _ = try store.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(3000))") }
        }
        // Another open file description of the lock file, as another process's store has.
        let holder = open(temp.directory + "/" + StateStore.lockName, O_RDWR | O_CLOEXEC)
        try #require(holder >= 0)
        defer { close(holder) }
        try #require(flock(holder, LOCK_EX | LOCK_NB) == 0)
        // Returns at all: a wait for the lock this thread holds would never end.
        try StateStore.checkpoint(directory: temp.directory)
        #expect(Self.frames(ofWALAt: wal) == 0)
        flock(holder, LOCK_UN)
        _ = try store.write { tx throws(BerthError) in try tx.db().execute("INSERT INTO scratch VALUES (randomblob(10))") }
        #expect(Self.frames(ofWALAt: wal) >= 1)
        #expect(try store.read { tx throws(BerthError) in try tx.db().queryFirst("SELECT count(*) FROM scratch") { $0.int(0) } } == 101)
    }
}
