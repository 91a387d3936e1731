#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// open(2) and close(2) under names `CgroupFiles.open` and `close` do not shadow.
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
private func systemClose(_ fd: Int32) { _ = close(fd) }
import BerthCore
import BerthConfine
import BerthNamespace

/// What a child needs to be in its container's cgroup (see `berth_exec_config`), opened by
/// the parent before the clone: the child then needs no path, no allocation and no view of
/// the host's /sys/fs/cgroup (it has pivoted away from it).
struct CgroupFiles {
    /// Each tree's `cgroup.procs`, which the child writes itself into.
    let procs: [Int32]
    /// On v2, the cgroup's directory, to create the child in it (CLONE_INTO_CGROUP).
    let directory: Int32?

    static let none = CgroupFiles(procs: [], directory: nil)

    static func open(_ cgroup: ContainerCgroup?) throws(BerthError) -> CgroupFiles {
        guard let cgroup else { return .none }
        var procs: [Int32] = []
        for path in cgroup.procsFiles {
            do {
                procs.append(try descriptor(path, O_WRONLY | O_CLOEXEC, cgroup: cgroup))
            } catch {
                CgroupFiles(procs: procs, directory: nil).close()
                throw error
            }
        }
        guard cgroup.version == 2, cgroup.paths.count == 1 else { return CgroupFiles(procs: procs, directory: nil) }
        do {
            let directory = try descriptor(cgroup.paths[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC, cgroup: cgroup)
            return CgroupFiles(procs: procs, directory: directory)
        } catch {
            CgroupFiles(procs: procs, directory: nil).close()
            throw error
        }
    }

    /// An open descriptor above stdio (the child installs its stdio on 0-2 before it joins).
    private static func descriptor(_ path: String, _ flags: Int32, cgroup: ContainerCgroup) throws(BerthError) -> Int32 {
        var fd = systemOpen(path, flags)
        if fd >= 0, fd < 3 {
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            systemClose(fd)
            fd = moved
        }
        guard fd >= 0 else {
            let error = Errno.current
            if error.code == ENOENT {
                let directory = path.hasSuffix("/cgroup.procs") ? String(path.dropLast("/cgroup.procs".count)) : path
                throw BerthError(.notFound, "cgroup \(directory) of container \(cgroup.id) does not exist",
                                 hint: "create it with the cgroup manager first", object: .cgroup(directory), parameter: "cgroup", cause: error)
            }
            throw BerthError.system("open \(path)", error, privilege: "CAP_DAC_OVERRIDE").with(object: .file(path), parameter: "cgroup")
        }
        return fd
    }

    func close() {
        for fd in procs { systemClose(fd) }
        if let directory { systemClose(directory) }
    }
}
