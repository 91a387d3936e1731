#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthConfine
import BerthNamespace

/// The `cgroup.procs` files a child joins (see `berth_exec_config.cgroup_fds`), opened by
/// the parent before the clone: the child then needs no path, no allocation and no view of
/// the host's /sys/fs/cgroup (it has pivoted away from it) to join.
enum CgroupFiles {
    static func open(_ cgroup: ContainerCgroup?) throws(BerthError) -> [Int32] {
        guard let cgroup else { return [] }
        var fds: [Int32] = []
        for path in cgroup.procsFiles {
            var fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
            // Above stdio: the child installs its stdio on 0-2 before it joins.
            if fd >= 0, fd < 3 {
                let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
                Glibc.close(fd)
                fd = moved
            }
            guard fd >= 0 else {
                let error = Errno.current
                close(fds)
                if error.code == ENOENT {
                    throw BerthError(.notFound, "cgroup \(path.dropLast("/cgroup.procs".count)) of container \(cgroup.id) does not exist",
                                     hint: "create it with the cgroup manager first", object: .file(path), cause: error)
                }
                throw BerthError.system("open \(path)", error, privilege: "root").with(object: .file(path))
            }
            fds.append(fd)
        }
        return fds
    }

    static func close(_ fds: [Int32]) {
        for fd in fds { Glibc.close(fd) }
    }
}
