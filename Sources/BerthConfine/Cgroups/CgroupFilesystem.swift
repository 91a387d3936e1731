#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// The few things cgroup code does to the host: directories and small files under
/// /sys/fs/cgroup, and SIGKILL for what is left in a cgroup being removed. The kernel does
/// them in `KernelCgroupFilesystem`; `FakeCgroupFilesystem` records them for unit tests.
///
/// Errors carry the errno (`Errno` as the cause) so callers can tell EEXIST, ENOENT and
/// EBUSY apart.
public protocol CgroupFilesystem: Sendable {
    /// mkdir(2) with mode 0755.
    func makeDirectory(_ path: String) throws(BerthError)
    /// rmdir(2).
    func removeDirectory(_ path: String) throws(BerthError)
    /// Writes `value` to an existing file in one write(2) (cgroup files take one value per write).
    func write(_ path: String, _ value: String) throws(BerthError)
    /// The whole content of a small file.
    func read(_ path: String) throws(BerthError) -> String
    /// Whether the path exists.
    func exists(_ path: String) -> Bool
    /// Names of the subdirectories of a directory (none if it does not exist).
    func subdirectories(_ path: String) throws(BerthError) -> [String]
    /// SIGKILL to a process; false when it no longer exists.
    func kill(_ pid: Int32) -> Bool
}

/// The real thing: system calls on the host's files.
public struct KernelCgroupFilesystem: CgroupFilesystem {
    public init() {}

    public func makeDirectory(_ path: String) throws(BerthError) {
        guard mkdir(path, 0o755) == 0 else { throw Self.failure("create cgroup \(path)", Errno.current, path) }
    }

    public func removeDirectory(_ path: String) throws(BerthError) {
        guard rmdir(path) == 0 else { throw Self.failure("remove cgroup \(path)", Errno.current, path) }
    }

    public func write(_ path: String, _ value: String) throws(BerthError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open \(path)", Errno.current, path) }
        defer { close(fd) }
        var bytes = Array(value.utf8)
        let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Self.failure("write \"\(value)\" to \(path)", Errno.current, path) }
    }

    public func read(_ path: String) throws(BerthError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open \(path)", Errno.current, path) }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Self.failure("read \(path)", Errno.current, path) }
            if count == 0 { break }
            data += buffer[..<count]
            // Control files are small; a bound keeps a bad path from reading a huge file.
            guard data.count <= 1 << 20 else { throw BerthError(.system, "\(path) is larger than a cgroup file can be") }
        }
        return String(decoding: data, as: UTF8.self)
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func subdirectories(_ path: String) throws(BerthError) -> [String] {
        guard let dir = opendir(path) else {
            let error = Errno.current
            if error.code == ENOENT { return [] }
            throw Self.failure("list \(path)", error, path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func kill(_ pid: Int32) -> Bool { Glibc.kill(pid, SIGKILL) == 0 }

    static func failure(_ operation: String, _ error: Errno, _ path: String) -> BerthError {
        BerthError.system(operation, error, privilege: "root").with(object: .file(path))
    }
}
