#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim

extension DetachedSpawn {
    /// Adds to `actions`: the child closes every descriptor from `descriptor` on
    /// (posix_spawn_file_actions_addclosefrom_np, declared behind _GNU_SOURCE). Returns its
    /// error number, 0 when added.
    static func closeFrom(_ descriptor: Int32, in actions: inout posix_spawn_file_actions_t) -> Int32 {
        berth_spawn_actions_closefrom(&actions, descriptor)
    }
}
