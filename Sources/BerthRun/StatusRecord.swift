#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
internal import CBerthShim
import BerthCore
import BerthNamespace

/// One report from the child on its status pipe: `{ step, errno }` as two C ints.
enum StatusRecord {
    /// Set up and waiting for the go-ahead.
    case ready
    /// A step failed with this errno; the child exits.
    case failed(step: Int32, errno: Errno)
    /// The pipe closed with no record: exec succeeded (the write end is close-on-exec), or the
    /// child died.
    case ended
    /// A short or failed read: not a report we understand.
    case unreadable

    static func read(from fd: Int32) -> StatusRecord {
        var record: (Int32, Int32) = (0, 0)
        let size = MemoryLayout<(Int32, Int32)>.size
        var count = 0
        while true {
            count = withUnsafeMutableBytes(of: &record) { systemRead(fd, $0.baseAddress, size) }
            if count < 0, errno == EINTR { continue }
            break
        }
        if count == 0 { return .ended }
        guard count == size else { return .unreadable }
        return record.0 == BERTH_STEP_READY ? .ready : .failed(step: record.0, errno: Errno(record.1))
    }
}

/// The child's set-up steps, named for error messages.
struct SpawnStep {
    let rawValue: Int32

    /// `ulimits`: those the child was to set (`BERTH_STEP_RLIMIT` names the one refused).
    /// `user`: the user the command was to run as (`-u`), when there is no `spec` to say it
    /// (a failure reported after the release, or `berth exec`'s).
    func error(_ error: Errno, program: String, spec: ContainerSpec?, user: String? = nil, ulimits: [Ulimit] = []) -> BerthError {
        let rootfs = spec?.rootfs ?? "the root filesystem"
        let user = user ?? spec?.user
        if Int(rawValue) >= Int(BERTH_STEP_VOLUME) {
            let index = Int(rawValue) - Int(BERTH_STEP_VOLUME)
            let volume = spec.flatMap { index < $0.mounts.count ? $0.mounts[index].description : nil } ?? "number \(index + 1)"
            if error.code == EROFS {
                return BerthError(.system, "cannot mount volume \(volume): its target's directory is on a read-only filesystem",
                                  hint: "mount it on a directory that exists in the root filesystem", parameter: "volumes", cause: error)
            }
            if error.code == ELOOP {
                // spawn.c, open_target: no magic link (/proc/self/fd/N, …) is followed to a target.
                return BerthError(.invalidArgument, "cannot mount volume \(volume): the path to its target in the root filesystem loops or goes through a link into /proc, which berth does not follow",
                                  hint: "mount it on a path of the root filesystem's own directories", parameter: "volumes", cause: error)
            }
            return BerthError.system("mount volume \(volume) in the container", error).with(parameter: "volumes")
        }
        switch Int(rawValue) {
        case Int(BERTH_STEP_LOOKUP):
            let place = spec?.rootfs.map { " in root filesystem \($0)" } ?? ""
            if error.code == ENOENT {
                return BerthError(.notFound, "command \"\(program)\" not found\(place)",
                                  hint: "give a path that exists in the container, or set PATH in its environment", parameter: "command", cause: error)
            }
            return BerthError(.permissionDenied, "command \"\(program)\" is not an executable file\(place)", hint: "check its mode and that it is a regular file",
                              parameter: "command", cause: error)
        case Int(BERTH_STEP_EXEC):
            // parameter "command": the command's own failure, which `berth run` exits 126 or
            // 127 for (docker's codes), not a set-up failure.
            if error.code == EACCES {
                // The lookup ran as root, before the user switch (spawn.c, find_command): the
                // file was found executable, and the kernel refused it to the user after.
                let who = user.map { " to user \($0)" } ?? ""
                return BerthError(.permissionDenied, "cannot execute \"\(program)\": permission denied\(who)",
                                  hint: "give\(user == nil ? "" : " that user") execute permission on it and search permission on its directories; a file on a noexec mount cannot be executed",
                                  parameter: "command", cause: error)
            }
            let hint = error.code == ENOENT
                ? "a dynamically linked program needs its loader and libraries inside the root filesystem"
                : "check that \(program) is a program for this machine"
            return BerthError(error.code == ENOENT ? .notFound : .system, "cannot execute \"\(program)\"", hint: hint, parameter: "command", cause: error)
        case Int(BERTH_STEP_WORKDIR):
            let dir = spec?.workingDirectory ?? "/"
            if error.code == ENOENT || error.code == ENOTDIR {
                return BerthError(.notFound, "working directory \(dir) does not exist in the container", object: .file(dir), parameter: "workingDirectory",
                                  remedy: .chooseAnother(parameter: "workingDirectory"), cause: error)
            }
            if error.code == ELOOP {
                return BerthError(.invalidArgument, "working directory \(dir): its path in the root filesystem loops or goes through a link into /proc, which berth does not follow",
                                  parameter: "workingDirectory", remedy: .chooseAnother(parameter: "workingDirectory"), cause: error)
            }
            return .system("change to working directory \(dir)", error)
        case Int(BERTH_STEP_BIND_ROOTFS), Int(BERTH_STEP_PIVOT_ROOT):
            return .system("enter root filesystem \(rootfs)", error)
        case Int(BERTH_STEP_ROOTFS_PROC), Int(BERTH_STEP_ROOTFS_DEV):
            let name = Int(rawValue) == Int(BERTH_STEP_ROOTFS_PROC) ? "/proc" : "/dev"
            if error.code == ENOTDIR {
                return BerthError(.invalidArgument, "\(name) in root filesystem \(rootfs) is not a directory (a symbolic link or a file)",
                                  hint: "make \(name) a directory of the root filesystem, or remove it (it is then made)", parameter: "rootfs", cause: error)
            }
            return BerthError.system("prepare \(name) in \(rootfs)", error).with(parameter: "rootfs")
        case Int(BERTH_STEP_MOUNT_PROC):
            return .system("mount /proc in the container", error)
        case Int(BERTH_STEP_MOUNT_SYS):
            return .system("mount /sys in the container", error)
        case Int(BERTH_STEP_MASK_PATHS):
            if error.code == EXDEV {
                return BerthError(.system, "/proc in the container is not a procfs: its kernel files cannot be masked",
                                  hint: "give the container a root filesystem whose /proc is a directory", parameter: "rootfs", cause: error)
            }
            return .system("mask the kernel's files under /proc and /sys in the container", error)
        case Int(BERTH_STEP_MOUNT_DEV):
            return .system("set up /dev in \(rootfs)", error)
        case Int(BERTH_STEP_PROPAGATION):
            return .system("make the container's mounts private", error)
        case Int(BERTH_STEP_HOSTNAME):
            return .system("set the container's hostname", error)
        case Int(BERTH_STEP_STDIO):
            return .system("connect the container's stdin/stdout/stderr", error)
        case Int(BERTH_STEP_DESCRIPTORS):
            return .system("close inherited descriptors in the container", error)
        case Int(BERTH_STEP_CAPABILITIES):
            return .system("limit the container's capabilities", error)
        case Int(BERTH_STEP_SETNS):
            return .system("join the container's namespaces", error)
        case Int(BERTH_STEP_TERMINAL):
            return .system("give the container a terminal", error)
        case Int(BERTH_STEP_PTMX):
            return BerthError(.conflict, "/dev/pts/ptmx in the container is not the pseudo-terminal multiplexer of a devpts filesystem: it is not opened for a terminal",
                              hint: "give the container a devpts on /dev/pts again (it has one when it starts), or run the command without a terminal",
                              cause: error)
        case Int(BERTH_STEP_USER):
            return BerthError.system("switch to user \(user ?? "as asked")", error).with(parameter: "user")
        case Int(BERTH_STEP_READONLY_ROOT):
            return BerthError.system("make \(rootfs) read-only in the container", error).with(parameter: "readOnlyRootfs")
        case Int(BERTH_STEP_CGROUP):
            if error.code == ENOSPC {
                return BerthError(.system, "cannot join the container's cgroup: its cpuset has no CPUs or memory nodes",
                                  hint: "give the cgroup CPUs and memory nodes", parameter: "cpusetCPUs", cause: error)
            }
            return BerthError.system("join the container's cgroup", error, privilege: "CAP_DAC_OVERRIDE").with(parameter: "cgroup")
        case Int(BERTH_STEP_INIT):
            return BerthError.system("start the command under the container's init", error).with(parameter: "init")
        case Int(BERTH_STEP_RLIMIT):
            return Self.rlimitError(error, ulimits: ulimits)
        case Int(BERTH_STEP_NO_NEW_PRIVS):
            return BerthError.system("set no_new_privs for the container", error).with(parameter: "noNewPrivileges")
        case Int(BERTH_STEP_SECCOMP):
            if error.code == EACCES {
                // Without no_new_privs the kernel takes a filter only from a holder of CAP_SYS_ADMIN.
                return BerthError(.permissionDenied, "cannot install the container's seccomp filter without CAP_SYS_ADMIN or no_new_privs",
                                  parameter: "seccomp", remedy: .privilege("CAP_SYS_ADMIN"), cause: error)
            }
            if error.code == EINVAL {
                return BerthError(.unsupported, "the kernel refused the container's seccomp filter",
                                  hint: "check that the kernel has CONFIG_SECCOMP_FILTER", parameter: "seccomp", cause: error)
            }
            return BerthError.system("install the container's seccomp filter", error).with(parameter: "seccomp")
        default:
            return BerthError(.internalError, "the container process failed at unknown step \(rawValue)", cause: error)
        }
    }
}

extension SpawnStep {
    /// Why the kernel refused a limit, found again here: the child can report only that one
    /// failed, and EPERM has two causes, nofile's hard limit above fs.nr_open (refused even
    /// to root) and a hard limit raised above this process's own without CAP_SYS_RESOURCE.
    static func rlimitError(_ error: Errno, ulimits: [Ulimit]) -> BerthError {
        let shown = ulimits.map(\.description).joined(separator: ", ")
        guard error.code == EPERM else {
            return BerthError.system("set the container's ulimits (\(shown))", error).with(parameter: "ulimits")
        }
        if let nrOpen = nrOpen(), let limit = ulimits.first(where: { $0.resource == .nofile && $0.kernelHard > nrOpen }) {
            return BerthError(.invalidArgument, "ulimit \(limit): the kernel allows at most \(nrOpen) open files (fs.nr_open)",
                              hint: "give nofile a hard limit of at most \(nrOpen)", parameter: "ulimits", cause: error)
        }
        for limit in ulimits {
            var own: UInt64 = 0
            guard berth_hard_limit(limit.resource.number, &own) == 0, limit.kernelHard > own else { continue }
            let ownText = own == UInt64.max ? "unlimited" : "\(own)"
            return BerthError(.permissionDenied, "ulimit \(limit): its hard limit is above berth's own (\(ownText)), which only a holder of CAP_SYS_RESOURCE may raise",
                              hint: "give a hard limit of at most \(ownText), or give berth CAP_SYS_RESOURCE", parameter: "ulimits", cause: error)
        }
        return BerthError.system("set the container's ulimits (\(shown))", error).with(parameter: "ulimits")
    }

    /// /proc/sys/fs/nr_open, the most descriptors a process may have; nil when unreadable.
    private static func nrOpen() -> UInt64? {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = systemRead(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return UInt64(String(decoding: buffer[..<count].filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }
}
