#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// posix_spawn attributes for a child that starts as a freshly exec'd program should: no
/// signal blocked, and `signals` at their default disposition whatever the caller ignores
/// (berth's executables ignore SIGPIPE; a child inherits that across exec). `flags` adds
/// posix_spawn flags (POSIX_SPAWN_SETSID, for one).
package enum SpawnAttributes {
    /// Calls `body` with a pointer to attributes set up so, destroyed after.
    package static func with<R>(defaulting signals: [Int32], flags: Int32 = 0,
                                _ body: (UnsafePointer<posix_spawnattr_t>) -> R) -> R {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in signals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | flags))
        return withUnsafePointer(to: &attributes) { body($0) }
    }
}
