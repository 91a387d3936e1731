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
/// the host's /sys/fs/cgroup to join.
enum CgroupFiles {
    static func open(_ cgroup: ContainerCgroup?) throws(BerthError) -> [Int32] {
        guard let cgroup else { return [] }
        var fds: [Int32] = []
        for path in cgroup.procsFiles {
            let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
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
