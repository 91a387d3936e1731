#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import BerthCore
import BerthNamespace

/// The socket over which a child sends its new terminal's master (SCM_RIGHTS).
final class ConsoleSocket {
    /// The parent's end; the child's end goes into the child and is closed here after the clone.
    let parent: Int32
    private(set) var child: Int32

    private init(parent: Int32, child: Int32) {
        self.parent = parent
        self.child = child
    }

    static func make() throws(BerthError) -> ConsoleSocket {
        var fds: [Int32] = [-1, -1]
        guard berth_socketpair_cloexec(&fds) == 0 else { throw .system("create a socket pair for a terminal", Errno(errno)) }
        return ConsoleSocket(parent: fds[0], child: fds[1])
    }

    func closeChild() {
        if child >= 0 { close(child); child = -1 }
    }

    func closeBoth() {
        closeChild()
        close(parent)
    }

    /// The master the child sent, or nil if it ended without sending one.
    func receive() -> Int32? {
        let fd = berth_receive_fd(parent)
        return fd >= 0 ? fd : nil
    }
}

/// The sources of bind mounts: detached copies of their mount trees (open_tree), made
/// before the clone; the child attaches them after it entered its root filesystem.
final class VolumeSources {
    private var descriptors: [Int32] = []
    private let targets: [CStringArray]
    private let mounts: [BindMount]
    private var directories: [Bool] = []

    init(_ mounts: [BindMount]) throws(BerthError) {
        self.mounts = mounts
        targets = mounts.map { CStringArray([BindMount.normalized($0.target)]) }
        for mount in mounts {
            let fd = berth_open_tree_clone(mount.source)
            guard fd >= 0 else {
                let error = Errno(errno)
                closeAll()
                if error.code == ENOENT {
                    throw BerthError(.notFound, "volume source \(mount.source) does not exist", object: .file(mount.source), parameter: "volumes", cause: error)
                }
                throw BerthError.system("take volume source \(mount.source) for mounting", error).with(object: .file(mount.source), parameter: "volumes")
            }
            // Above stdio, which the child replaces before it would bind them.
            let moved = fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3)
            if moved != fd { close(fd) }
            var st = stat()
            guard moved >= 0, fstat(moved, &st) == 0 else {
                let error = Errno(errno)
                if moved >= 0 { close(moved) }
                closeAll()
                throw BerthError.system("inspect volume source \(mount.source)", error).with(object: .file(mount.source), parameter: "volumes")
            }
            descriptors.append(moved)
            directories.append(st.st_mode & S_IFMT == S_IFDIR)
        }
    }

    /// Calls `body` with the C array of mounts, valid for the call.
    func withMounts<R>(_ body: (UnsafePointer<berth_bind_mount>?, Int32) -> R) -> R {
        var array: [berth_bind_mount] = []
        for (index, mount) in mounts.enumerated() {
            var entry = berth_bind_mount()
            entry.source_fd = descriptors[index]
            entry.target = UnsafePointer(targets[index].pointer[0])
            entry.directory = directories[index] ? 1 : 0
            entry.read_only = mount.readOnly ? 1 : 0
            entry.optional = mount.optional ? 1 : 0
            array.append(entry)
        }
        return array.withUnsafeBufferPointer { buffer in
            withExtendedLifetime(targets) { body(buffer.baseAddress, Int32(buffer.count)) }
        }
    }

    func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }
}

/// A pipe with both ends close-on-exec.
struct Pipe {
    let read: Int32
    let write: Int32

    static func make() throws(BerthError) -> Pipe {
        var fds: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&fds) == 0 else { throw .system("create a pipe", Errno(errno)) }
        return Pipe(read: fds[0], write: fds[1])
    }

    func closeBoth() {
        close(read)
        close(write)
    }
}
