#ifndef BERTH_CSQLITE_SHIM_H
#define BERTH_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, a macro Swift cannot import.
// Binding with it makes SQLite copy the bytes before the bind returns, so the Swift
// buffer may go away right after.
static inline sqlite3_destructor_type berth_sqlite3_transient(void) { return SQLITE_TRANSIENT; }
#endif
