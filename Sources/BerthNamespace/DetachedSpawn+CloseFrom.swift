#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim

extension DetachedSpawn {
    /// Adds to `actions`: the child closes every descriptor from `descriptor` on
    /// (posix_spawn_file_actions_addclosefrom_np, declared behind _GNU_SOURCE).
    static func closeFrom(_ descriptor: Int32, in actions: inout posix_spawn_file_actions_t) {
        _ = berth_spawn_actions_closefrom(&actions, descriptor)
    }
}
