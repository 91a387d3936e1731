#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace
import Synchronization

/// An in-memory cgroup tree for unit tests: directories, files with contents, and processes
/// in `cgroup.procs`. Every change is logged in order (`log`), which is what a test compares
/// with its golden. A new directory gets the control files of its hierarchy (see
/// `controlFiles`), so writing a file the kernel would not have fails as it would (ENOENT).
public final class FakeCgroupFilesystem: CgroupFilesystem, Sendable {
    private struct State {
        var directories: Set<String> = []
        var files: [String: String] = [:]
        var log: [String] = []
        var killed: [Int32] = []
        var removeBeforeChild: Set<String> = []
        var devicePrograms: [String: DeviceProgram] = [:]
        var pinned: (@Sendable (Int32) -> Void)?
        var read: (@Sendable (String) -> Void)?
        var stuck: Set<Int32> = []
    }

    private let state = Mutex(State())
    /// For a new directory `path`, the names of the files it gets, with their contents.
    private let controlFiles: @Sendable (_ path: String) -> [String: String]

    /// An empty tree; `controlFiles` gives each new directory its files (only an empty `cgroup.procs` unless told otherwise).
    public init(controlFiles: @escaping @Sendable (_ path: String) -> [String: String] = { _ in ["cgroup.procs": ""] }) {
        self.controlFiles = controlFiles
    }

    /// Adds a directory (and its parents) and files, unlogged: the host as it is before a test.
    public func seed(directories: [String] = [], files: [String: String] = [:]) {
        state.withLock { state in
            for directory in directories {
                var path = ""
                for part in directory.split(separator: "/") {
                    path += "/" + part
                    state.directories.insert(path)
                }
            }
            state.files.merge(files) { $1 }
        }
    }

    /// "mkdir PATH", "write PATH VALUE", "rmdir PATH", "kill PID", in order.
    public var log: [String] { state.withLock { $0.log } }

    /// The content of a file (nil if absent).
    public func file(_ path: String) -> String? { state.withLock { $0.files[path] } }

    /// Whether `path` is a directory of the tree.
    public func isDirectory(_ path: String) -> Bool { state.withLock { $0.directories.contains(path) } }

    /// The next `makeDirectory` of a child of `parent` first removes `parent` (logged as
    /// "rmdir"), as a concurrent garbage collection that found it empty would.
    public func removeBeforeNextChild(of parent: String) {
        state.withLock { _ = $0.removeBeforeChild.insert(parent) }
    }

    /// Adds `path` with its control files and logs "mkdir"; EEXIST if there, ENOENT without its parent.
    public func makeDirectory(_ path: String) throws(BerthError) {
        let files = controlFiles(path)
        try state.withLock { (state) throws(BerthError) in
            let parent = Self.parent(of: path)
            if state.removeBeforeChild.remove(parent) != nil, !state.directories.contains(where: { $0.hasPrefix(parent + "/") }) {
                state.directories.remove(parent)
                state.files = state.files.filter { !$0.key.hasPrefix(parent + "/") }
                state.log.append("rmdir \(parent)")
            }
            guard !state.directories.contains(path) else { throw Self.failure("create cgroup \(path)", EEXIST) }
            guard state.directories.contains(Self.parent(of: path)) else { throw Self.failure("create cgroup \(path)", ENOENT) }
            state.directories.insert(path)
            for (name, content) in files { state.files[path + "/" + name] = content }
            state.log.append("mkdir \(path)")
        }
    }

    /// Removes `path` and its files and logs "rmdir"; ENOENT if absent, EBUSY with subdirectories or processes.
    public func removeDirectory(_ path: String) throws(BerthError) {
        try state.withLock { (state) throws(BerthError) in
            guard state.directories.contains(path) else { throw Self.failure("remove cgroup \(path)", ENOENT) }
            let busy = state.directories.contains { $0.hasPrefix(path + "/") }
                || !(state.files[path + "/cgroup.procs"] ?? "").isEmpty
            guard !busy else { throw Self.failure("remove cgroup \(path)", EBUSY) }
            state.directories.remove(path)
            state.files = state.files.filter { !$0.key.hasPrefix(path + "/") }
            state.log.append("rmdir \(path)")
        }
    }

    /// Replaces an existing file's content and logs "write"; ENOENT for a file the directory
    /// lacks. "1" written to a `cgroup.kill` empties that directory's `cgroup.procs` and those
    /// of the directories below it, as the kernel's SIGKILL to every member of the subtree would.
    public func write(_ path: String, _ value: String) throws(BerthError) {
        try state.withLock { (state) throws(BerthError) in
            guard state.files[path] != nil else { throw Self.failure("open \(path)", ENOENT) }
            state.files[path] = value
            state.log.append("write \(path) \(value)")
            // v2's cgroup.kill: every member of the directory and of the cgroups nested in it
            // ends at once, but one stuck in the kernel.
            if path.hasSuffix("/cgroup.kill"), value == "1" {
                let directory = String(path.dropLast("/cgroup.kill".count))
                for procs in state.files.keys where procs == directory + "/cgroup.procs"
                    || (procs.hasPrefix(directory + "/") && procs.hasSuffix("/cgroup.procs")) {
                    let left = (state.files[procs] ?? "").split(separator: "\n").filter { Int32($0).map(state.stuck.contains) ?? false }
                    state.files[procs] = left.map { $0 + "\n" }.joined()
                }
            }
        }
    }

    /// The file's content; ENOENT if absent. Calls the `whenRead` hook first.
    public func read(_ path: String) throws(BerthError) -> String {
        let hook = state.withLock { $0.read }
        hook?(path)
        return try state.withLock { (state) throws(BerthError) -> String in
            guard let content = state.files[path] else { throw Self.failure("open \(path)", ENOENT) }
            return content
        }
    }

    /// Whether `path` is a directory or file of the tree.
    public func exists(_ path: String) -> Bool {
        state.withLock { $0.directories.contains(path) || $0.files[path] != nil }
    }

    /// Names of the direct subdirectories, sorted.
    public func subdirectories(_ path: String) throws(BerthError) -> [String] {
        state.withLock { state in
            state.directories.filter { Self.parent(of: $0) == path }.map { String($0.dropFirst(path.count + 1)) }.sorted()
        }
    }

    /// Logs "bpf-device PATH N" (the program's instruction count); the directory must exist.
    public func attachDeviceProgram(_ program: DeviceProgram, to path: String) throws(BerthError) {
        try state.withLock { (state) throws(BerthError) in
            guard state.directories.contains(path) else { throw Self.failure("attach the device filter to \(path)", ENOENT) }
            state.devicePrograms[path] = program
            state.log.append("bpf-device \(path) \(program.instructions.count)")
        }
    }

    /// The device program attached to a directory, if any.
    public func deviceProgram(_ path: String) -> DeviceProgram? { state.withLock { $0.devicePrograms[path] } }

    /// `body` runs after each `pin`, outside the lock: a test changes the tree there as the
    /// kernel might between a pid's listing and its signal (the process ends, its pid reused).
    public func whenPinned(_ body: @escaping @Sendable (Int32) -> Void) {
        state.withLock { $0.pinned = body }
    }

    /// `body` runs before each `read`, outside the lock, with the path read: a test acts
    /// there while the code under test waits on a cgroup.
    public func whenRead(_ body: @escaping @Sendable (String) -> Void) {
        state.withLock { $0.read = body }
    }

    /// `pid` is stuck in the kernel (state D): no SIGKILL ends it, neither its own nor
    /// `cgroup.kill`'s, so its cgroup never empties.
    public func stick(_ pid: Int32) {
        state.withLock { _ = $0.stuck.insert(pid) }
    }

    /// Any pid is taken to exist; unlogged.
    public func pin(_ pid: Int32) -> PinnedProcess? {
        let hook = state.withLock { $0.pinned }
        hook?(pid)
        return PinnedProcess(pid: pid)
    }

    /// Removes the pid from every `cgroup.procs`, as if SIGKILL ended it at once (unless it
    /// is stuck, see `stick`).
    public func kill(_ process: PinnedProcess) -> Bool {
        let pid = process.pid
        return state.withLock { state in
            var found = false
            if state.stuck.contains(pid) {
                state.log.append("kill \(pid)")
                return state.files.contains { $0.key.hasSuffix("/cgroup.procs") && $0.value.split(separator: "\n").contains("\(pid)") }
            }
            for (path, content) in state.files where path.hasSuffix("/cgroup.procs") {
                let pids = content.split(separator: "\n").filter { $0 != "\(pid)" }
                if pids.count != content.split(separator: "\n").count { found = true }
                state.files[path] = pids.map { $0 + "\n" }.joined()
            }
            state.log.append("kill \(pid)")
            return found
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func failure(_ operation: String, _ code: Int32) -> BerthError {
        BerthError.system(operation, Errno(code))
    }
}
