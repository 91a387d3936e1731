#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import BerthNamespace

/// The `berth-init` binary that PID 1 of a `--init` container execs once it has forked the
/// command (spawn.c, run_init): found beside the running binary, as berth-cli and berth-dns
/// are, and opened through a read-only view of it (or a sealed copy), as berth runs itself
/// (`SealedExecutable`), so that `/proc/1/exe` in the container is never a writable file of
/// the host's.
enum InitExecutable {
    static let name = "berth-init"

    /// A descriptor (close-on-exec) to hand `berth_spawn_config.init_fd`; -1 when there is no
    /// such binary or no view of it can be made: the init then runs in the container's
    /// first process itself, berth's image, non-dumpable (docs/run.md).
    ///
    /// Above stdio, as SpawnDescriptors and CgroupFiles keep theirs: in a caller started with
    /// 0, 1 or 2 closed it could be opened there, and the child installs the container's stdio
    /// on 0-2 (and the init closes them) before it execs this descriptor.
    static func open() -> Int32 {
        guard let path = SealedExecutable.sibling(name) else { return -1 }
        let fd = berth_open_sealed(path)
        guard fd >= 0, fd < 3 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        close(fd)
        return moved
    }
}
