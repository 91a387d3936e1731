#ifndef BERTH_CSQLITE_SHIM_H
#define BERTH_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, a macro Swift cannot import.
// Binding with it makes SQLite copy the bytes before the bind returns, so the Swift
// buffer may go away right after.
static inline sqlite3_destructor_type berth_sqlite3_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_db_config is variadic, which Swift cannot call. Keeps the WAL and its index
// across closes and skips the checkpoint on close: otherwise every short-lived `berth`
// process pays a checkpoint (four fdatasyncs) and re-creates both files at its next open.
// Checkpoints still happen, automatically, once the WAL passes 1,000 pages.
static inline int berth_sqlite3_keep_wal(sqlite3 *db) {
    int persist = 1;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
#endif
