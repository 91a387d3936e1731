#ifndef BERTH_CSQLITE_SHIM_H
#define BERTH_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>

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
//   reads ~256 KiB of WAL at most (~512 KiB once a container's start path has left a due
//   checkpoint to the next command: CheckpointLauncher). TRUNCATE, not PASSIVE: the checkpointed
//   state of the frames lives only in the shared-memory index, which the next process
//   rebuilds from the WAL file; frames left in the file would count as new again, and
//   every process would checkpoint them once more (tried: six times the fdatasyncs).
// - a connection whose process exits right after its work (a CLI's attach or detach)
//   defers the checkpoint: `context` points at three ints owned by the connection, [0] set
//   when it defers, [1] the most frames a commit left in the WAL once a checkpoint is due
//   (0 before); the caller then runs it in a process of its own (StateStore.deferCheckpoints)
//   and exits without waiting for the fdatasyncs — or, on a container's start path, leaves
//   it to the next command until the WAL is much longer (CheckpointLauncher). Nothing waits
//   on a checkpoint for safety: a commit is in the WAL.
//
// A TRUNCATE checkpoint waits, holding the writer lock, for every reader still on an older
// snapshot (`berth ps`, the resolver's reload); with the connection's 5 s busy timeout a long
// reader stalled other commands' writes for up to 5 s. So a checkpoint waits
// BERTH_SQLITE3_TRUNCATE_WAIT_MS at most and gives up quietly: a commit never depends on a
// checkpoint, and the next commit past the threshold asks again. [2] of `context` is the
// connection's own busy timeout, restored after.
enum { BERTH_SQLITE3_TRUNCATE_WAIT_MS = 100 };
static int berth_sqlite3_wal_hook(void *context, sqlite3 *db, const char *name, int frames) {
    int *deferral = context;
    if (frames < 64) return SQLITE_OK;
    if (deferral[0]) {
        if (frames > deferral[1]) deferral[1] = frames;
        return SQLITE_OK;
    }
    sqlite3_busy_timeout(db, BERTH_SQLITE3_TRUNCATE_WAIT_MS);
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, 0, 0);
    sqlite3_busy_timeout(db, deferral[2]);
    return SQLITE_OK;
}

// A deferred checkpoint, run by a process of its own beside the next Berth command: first
// PASSIVE, which copies every frame into the database and syncs both files without taking
// the writer lock, so a command's write goes on meanwhile; then TRUNCATE, which finds
// nothing left to copy and only empties the WAL, holding the writer lock for that moment
// (a TRUNCATE alone holds it through the copy and both fdatasyncs, and a command that
// began a write then would sleep in SQLite's busy handler for as long). Like the hook's, the
// TRUNCATE waits BERTH_SQLITE3_TRUNCATE_WAIT_MS at most for readers on an older snapshot and
// then gives up quietly. SQLITE_BUSY from the PASSIVE means another process is checkpointing
// (SQLite never waits for that lock): that one does the work, so this one gives up too.
static inline int berth_sqlite3_checkpoint(sqlite3 *db, int busy_timeout_ms) {
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, 0, 0);
    if ((rc & 0xff) == SQLITE_BUSY) return SQLITE_OK;
    if (rc != SQLITE_OK) return rc;
    sqlite3_busy_timeout(db, BERTH_SQLITE3_TRUNCATE_WAIT_MS);
    rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, 0, 0);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    return (rc & 0xff) == SQLITE_BUSY ? SQLITE_OK : rc;
}

// Before the process's first connection: no memory statistics, so that every SQLite
// allocation skips the global allocator mutex (about 2,000 lock/unlock pairs per
// `berth attach`). Berth never reads sqlite3_memory_used(). Once SQLite is initialised
// (an earlier store, or another library of the same process) this is SQLITE_MISUSE and
// changes nothing, which is harmless.
static inline void berth_sqlite3_configure(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

// SQLite's allocator for a process that exits right after one command (`berth attach` and
// `detach`): an arena. Debian builds SQLite with SQLITE_OMIT_LOOKASIDE, so each of the
// ~1,700 small allocations of such a command (the schema's objects, each statement's parse
// tree and program) is a malloc, and ~800 of them a free: ~0.35 M instructions of glibc's
// allocator in a 3.9 M-instruction attach. Here an allocation is a pointer bump in a lazily
// mapped 4 MiB region (only the pages touched are resident); a freed block is taken back
// by the bump when it is the latest, else kept on a list of its size for the next
// allocation of that size (without that, the arena touched ~50 more pages per attach than
// glibc, each a page fault). A freed block larger than the lists' 2,040 bytes (each
// statement's parser, a program's growing opcode array) goes on one more list, taken by the
// next allocation it fits best and at most twice over, so every prepare reuses the last
// one's instead of touching fresh pages (perf9: ~20 page faults of an attach). A realloc
// moves a block only when it outgrows it. What does not fit goes to the default
// allocator, and each call tells the two apart by address, so a command that outgrows the
// arena still works.
//
// It is meant for a process whose SQLite calls are serialised (one StateStore, whose
// connection is behind its mutex), but SQLite allocates outside a connection too and,
// without memory statistics, takes no global mutex around its allocator: each entry point
// holds a spin lock (one uncontended atomic exchange, ~2,500 per attach), so a second
// thread that ever uses SQLite in such a process waits instead of corrupting the lists.
// Each block is an 8-byte header holding the requested size (for a reused large block or
// one reallocated within its room, the block's whole payload), then the payload;
// blocks are 16 bytes or more, multiples of 8 (SQLite's alignment), and a free block's
// payload holds the next free block of its list.
struct berth_sqlite3_arena {
    char *base;
    char *end;
    char *next;
    void *free[256]; // free blocks of 16 ... 2,040 bytes, by size / 8
    void *large;     // free blocks of more than 2,040 bytes, any size
    sqlite3_mem_methods fallback;
    char lock;
};
// The one arena, a function's static: Swift emits the C functions it uses from this
// header, but not a file-scope variable that only those functions name.
static inline struct berth_sqlite3_arena *berth_arena_state(void) {
    static struct berth_sqlite3_arena arena;
    return &arena;
}
#define berth_arena (*berth_arena_state())

static inline int berth_arena_owns(void *p) {
    return (char *)p >= berth_arena.base && (char *)p < berth_arena.end;
}
static inline size_t berth_arena_block(int n) {
    size_t size = ((size_t)n + 8 + 7) & ~(size_t)7;
    return size < 16 ? 16 : size;
}

static inline int berth_arena_payload(char *block) { return (int)*(int64_t *)block; }
// The smallest free large block of `size` to 2 × `size` bytes, unlinked; 0 when none fits.
// The bound keeps a small request from taking (and xSize from reporting) a much larger
// block, such as a page cache's 88 KB bulk, which the next request of its size would then
// miss. Not split instead: nothing merges freed blocks again, so a split block would only
// ever serve smaller requests.
static char *berth_arena_take_large(size_t size) {
    void **link = &berth_arena.large, **best = 0;
    size_t bestSize = 0;
    for (char *block = *link; block != 0; link = (void **)(block + 8), block = *link) {
        size_t have = berth_arena_block(berth_arena_payload(block));
        if (have >= size && have / 2 <= size && (best == 0 || have < bestSize)) {
            best = link;
            bestSize = have;
            if (have == size) break;
        }
    }
    if (best == 0) return 0;
    char *block = *best;
    *best = *(void **)(block + 8);
    return block;
}

static void *berth_arena_malloc_unlocked(int n) {
    if (n < 0) return 0;
    size_t size = berth_arena_block(n);
    char *block;
    if (size / 8 < 256 && berth_arena.free[size / 8] != 0) {
        block = berth_arena.free[size / 8];
        berth_arena.free[size / 8] = *(void **)(block + 8);
    } else if (size / 8 >= 256 && (block = berth_arena_take_large(size)) != 0) {
        // The header records the block's whole payload: its size is what frees it.
        *(int64_t *)block = (int64_t)(berth_arena_block(berth_arena_payload(block)) - 8);
        return block + 8;
    } else if ((size_t)(berth_arena.end - berth_arena.next) >= size) {
        block = berth_arena.next;
        berth_arena.next += size;
    } else {
        return berth_arena.fallback.xMalloc(n);
    }
    *(int64_t *)block = n;
    return block + 8;
}
static int berth_arena_size(void *p) {
    if (!berth_arena_owns(p)) return berth_arena.fallback.xSize(p);
    return (int)*(int64_t *)((char *)p - 8);
}
static void berth_arena_free_unlocked(void *p) {
    if (!berth_arena_owns(p)) { berth_arena.fallback.xFree(p); return; }
    char *block = (char *)p - 8;
    size_t size = berth_arena_block(berth_arena_size(p));
    if (block + size == berth_arena.next) {
        berth_arena.next = block;
    } else if (size / 8 < 256) {
        *(void **)p = berth_arena.free[size / 8];
        berth_arena.free[size / 8] = block;
    } else {
        *(void **)p = berth_arena.large;
        berth_arena.large = block;
    }
}
static void *berth_arena_realloc_unlocked(void *p, int n) {
    if (!berth_arena_owns(p)) return berth_arena.fallback.xRealloc(p, n);
    if (n < 0) return 0;
    char *block = (char *)p - 8;
    int old = berth_arena_size(p);
    // The latest block grows or shrinks in place when the arena has the room.
    if (block + berth_arena_block(old) == berth_arena.next && (size_t)(berth_arena.end - block) >= berth_arena_block(n)) {
        berth_arena.next = block + berth_arena_block(n);
        *(int64_t *)block = n;
        return p;
    }
    // Any other block keeps its place when the new size fits it and needs at least half of
    // it (the bound berth_arena_take_large keeps: no block holds, and reports, many times
    // what was asked). Its header then holds the block's whole payload, which is both what
    // xSize may report (at least n) and the size that frees the whole block onto its list.
    if (berth_arena_block(n) <= berth_arena_block(old) && berth_arena_block(old) / 2 <= berth_arena_block(n)) {
        *(int64_t *)block = (int64_t)(berth_arena_block(old) - 8);
        return p;
    }
    void *q = berth_arena_malloc_unlocked(n);
    if (q == 0) return 0;
    memcpy(q, p, (size_t)(old < n ? old : n));
    berth_arena_free_unlocked(p);
    return q;
}
static inline void berth_arena_lock(void) {
    while (__atomic_test_and_set(&berth_arena.lock, __ATOMIC_ACQUIRE)) {
        // Only a second SQLite thread ever waits here; it lets a preempted holder run.
        while (__atomic_load_n(&berth_arena.lock, __ATOMIC_RELAXED)) sched_yield();
    }
}
static inline void berth_arena_unlock(void) { __atomic_clear(&berth_arena.lock, __ATOMIC_RELEASE); }
static void *berth_arena_malloc(int n) {
    berth_arena_lock();
    void *p = berth_arena_malloc_unlocked(n);
    berth_arena_unlock();
    return p;
}
static void berth_arena_free(void *p) {
    berth_arena_lock();
    berth_arena_free_unlocked(p);
    berth_arena_unlock();
}
static void *berth_arena_realloc(void *p, int n) {
    berth_arena_lock();
    void *q = berth_arena_realloc_unlocked(p, n);
    berth_arena_unlock();
    return q;
}
static int berth_arena_roundup(int n) { return (int)(berth_arena_block(n) - 8); }
static int berth_arena_init(void *unused) { (void)unused; return berth_arena.fallback.xInit(berth_arena.fallback.pAppData); }
static void berth_arena_shutdown(void *unused) { (void)unused; berth_arena.fallback.xShutdown(berth_arena.fallback.pAppData); }

// Installs the arena; before the process's first connection only (else SQLITE_MISUSE and
// nothing changes). Returns SQLITE_OK when installed.
static inline int berth_sqlite3_use_arena(void) {
    if (berth_arena.base != 0) return SQLITE_OK;
    sqlite3_mem_methods fallback;
    int rc = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &fallback);
    if (rc != SQLITE_OK) return rc;
    const size_t size = 4u << 20;
    void *region = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) return SQLITE_NOMEM;
    // Not made resident in advance (MADV_POPULATE_WRITE): fewer page faults, but an attach
    // took longer — zeroing the pages is the cost, not taking the faults (perf5, perf7).
    berth_arena.fallback = fallback;
    berth_arena.base = region;
    berth_arena.end = (char *)region + size;
    berth_arena.next = region;
    sqlite3_mem_methods methods = {
        berth_arena_malloc, berth_arena_free, berth_arena_realloc, berth_arena_size,
        berth_arena_roundup, berth_arena_init, berth_arena_shutdown, 0,
    };
    rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
    if (rc != SQLITE_OK) {
        munmap(region, size);
        berth_arena.base = berth_arena.end = berth_arena.next = 0;
    }
    return rc;
}
#undef berth_arena

static inline int berth_sqlite3_small_wal(sqlite3 *db, int *deferral) {
    int persist = 1;
    sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    sqlite3_wal_hook(db, berth_sqlite3_wal_hook, deferral);
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
#endif
