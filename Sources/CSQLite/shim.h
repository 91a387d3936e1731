#ifndef BERTH_CSQLITE_SHIM_H
#define BERTH_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, a macro Swift cannot import.
// Binding with it makes SQLite copy the bytes before the bind returns, so the Swift
// buffer may go away right after.
static inline sqlite3_destructor_type berth_sqlite3_transient(void) { return SQLITE_TRANSIENT; }

// Every `berth` process is short-lived, and a fresh process rebuilds the WAL index by
// reading the whole WAL (SQLite truncates the shared-memory index when no other process
// holds it). So the WAL must stay small, and closing must not cost a checkpoint each time:
// - no checkpoint on close (sqlite3_db_config is variadic, which Swift cannot call), and
//   the WAL file is kept, so a close costs no fdatasync and no file re-creation;
// - instead, after a commit that leaves 64 or more frames in the WAL, a TRUNCATE
//   checkpoint empties it: about one attach in fifteen pays a few fdatasyncs, and opening
//   never reads more than ~256 KiB of WAL. TRUNCATE, not PASSIVE: the checkpointed
//   state of the frames lives only in the shared-memory index, which the next process
//   rebuilds from the WAL file; frames left in the file would count as new again, and
//   every process would checkpoint them once more (tried: six times the fdatasyncs).
// - a connection whose process exits right after its work (a CLI's attach or detach)
//   defers the checkpoint: `context` points at two ints owned by the connection, [0] set
//   when it defers, [1] set by the hook when a checkpoint is due; the caller then runs it
//   in a process of its own (StateStore.deferCheckpoints) and exits without waiting for
//   the fdatasyncs. Nothing waits on a checkpoint for safety: a commit is in the WAL.
static int berth_sqlite3_wal_hook(void *context, sqlite3 *db, const char *name, int frames) {
    int *deferral = context;
    if (frames < 64) return SQLITE_OK;
    if (deferral != 0 && deferral[0]) {
        deferral[1] = 1;
        return SQLITE_OK;
    }
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, 0, 0);
    return SQLITE_OK;
}

// A deferred checkpoint, run by a process of its own beside the next Berth command: first
// PASSIVE, which copies every frame into the database and syncs both files without taking
// the writer lock, so a command's write goes on meanwhile; then TRUNCATE, which finds
// nothing left to copy and only empties the WAL, holding the writer lock for that moment
// (a TRUNCATE alone holds it through the copy and both fdatasyncs, and a command that
// began a write then would sleep in SQLite's busy handler for as long).
static inline int berth_sqlite3_checkpoint(sqlite3 *db) {
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, 0, 0);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, 0, 0);
}

// Before the process's first connection: no memory statistics, so that every SQLite
// allocation skips the global allocator mutex (about 2,000 lock/unlock pairs per
// `berth attach`). Berth never reads sqlite3_memory_used(). Once SQLite is initialised
// (an earlier store, or another library of the same process) this is SQLITE_MISUSE and
// changes nothing, which is harmless.
static inline void berth_sqlite3_configure(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static inline int berth_sqlite3_small_wal(sqlite3 *db, int *deferral) {
    int persist = 1;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    sqlite3_wal_hook(db, berth_sqlite3_wal_hook, deferral);
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
#endif
