#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
internal import CBerthShim
import BerthNamespace
import SystemPackage

/// kill(2) under a name `KernelCgroupFilesystem.kill` does not shadow, from Glibc or Musl alike.
private func systemKill(_ pid: Int32, _ signal: Int32) -> Int32 { kill(pid, signal) }
/// open(2) of a directory, under a name `KernelCgroupFilesystem.open` does not shadow.
private func openDirectory(_ path: String) -> Int32 { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }

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
    /// The process that has `pid` now, held so that a signal reaches it and never a process
    /// the pid is given to later; nil when no process has it.
    func pin(_ pid: Int32) -> PinnedProcess?
    /// SIGKILL to a pinned process; false when it has ended.
    func kill(_ process: PinnedProcess) -> Bool
    /// Loads `program` and attaches it to the cgroup v2 directory `path` (bpf(2)).
    func attachDeviceProgram(_ program: DeviceProgram, to path: String) throws(BerthError)
}

/// A process as `CgroupFilesystem.pin` holds it: its pid and, from the kernel, a pidfd
/// (closed with the last reference), or -1 where the kernel has no pidfd_open (before 5.3).
public final class PinnedProcess: Sendable {
    /// The pid it had when it was pinned.
    public let pid: Int32
    let descriptor: Int32

    /// `descriptor` becomes this object's, closed when it goes.
    public init(pid: Int32, descriptor: Int32 = -1) {
        self.pid = pid
        self.descriptor = descriptor
    }

    deinit { if descriptor >= 0 { close(descriptor) } }
}

/// The real thing: system calls on the host's files.
public struct KernelCgroupFilesystem: CgroupFilesystem {
    /// The host's cgroup filesystem.
    public init() {}

    /// mkdir(2) with mode 0755.
    public func makeDirectory(_ path: String) throws(BerthError) {
        guard mkdir(path, 0o755) == 0 else { throw Self.failure("create cgroup \(path)", Errno.current, path) }
    }

    /// rmdir(2).
    public func removeDirectory(_ path: String) throws(BerthError) {
        guard rmdir(path) == 0 else { throw Self.failure("remove cgroup \(path)", Errno.current, path) }
    }

    /// Writes `value` in one write(2); a short write is an error (EIO).
    public func write(_ path: String, _ value: String) throws(BerthError) {
        let fd = try Self.open(path, .writeOnly)
        defer { try? fd.close() }
        let bytes = Array(value.utf8)
        // One write(2) (retried across EINTR): a cgroup file takes the whole value or refuses it.
        let written: Int
        do { written = try bytes.withUnsafeBytes { try fd.write($0) } } catch {
            throw Self.failure("write \"\(value)\" to \(path)", error as? Errno ?? Errno(EIO), path)
        }
        guard written == bytes.count else { throw Self.failure("write \"\(value)\" to \(path)", Errno(EIO), path) }
    }

    /// The whole file as UTF-8; throws for a file over 1 MiB.
    public func read(_ path: String) throws(BerthError) -> String {
        let fd = try Self.open(path, .readOnly)
        defer { try? fd.close() }
        // Control files are small; a bound keeps a bad path from reading a huge file.
        let limit = 1 << 20
        let data: [UInt8]
        do { data = try fd.readToEnd(limit: limit + 1) } catch { throw Self.failure("read \(path)", error, path) }
        guard data.count <= limit else { throw BerthError(.system, "\(path) is larger than a cgroup file can be", object: .file(path)) }
        return String(decoding: data, as: UTF8.self)
    }

    private static func open(_ path: String, _ mode: FileDescriptor.AccessMode) throws(BerthError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, mode, options: .closeOnExec)
        } catch {
            throw failure("open \(path)", error as? Errno ?? Errno(EIO), path)
        }
    }

    /// access(2) with F_OK.
    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Names of the subdirectories, sorted; none if `path` does not exist.
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

    /// pidfd_open(2) of `pid`; nil when no process has it. A kernel without pidfd_open (ENOSYS)
    /// gets a process pinned by pid alone, signalled by kill(2) as before.
    public func pin(_ pid: Int32) -> PinnedProcess? {
        let fd = berth_pidfd_open(pid)
        if fd >= 0 { return PinnedProcess(pid: pid, descriptor: fd) }
        return errno == ENOSYS ? PinnedProcess(pid: pid) : nil
    }

    /// pidfd_send_signal(2) of SIGKILL (kill(2) for one pinned by pid alone); false when it
    /// fails (the process has ended, or is not ours to signal).
    public func kill(_ process: PinnedProcess) -> Bool {
        process.descriptor >= 0 ? berth_pidfd_signal(process.descriptor, SIGKILL) == 0 : systemKill(process.pid, SIGKILL) == 0
    }

    /// Loads `program` as a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup v2 directory `path` (needs CAP_BPF or CAP_SYS_ADMIN).
    public func attachDeviceProgram(_ program: DeviceProgram, to path: String) throws(BerthError) {
        let bytes = program.bytes
        var log = [CChar](repeating: 0, count: 4096)
        let programFD = bytes.withUnsafeBytes { raw in
            berth_bpf_load_device_program(raw.baseAddress, UInt32(program.instructions.count), &log, UInt32(log.count))
        }
        guard programFD >= 0 else {
            let error = Errno.current
            let said = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // EPERM: no CAP_BPF/CAP_SYS_ADMIN; EINVAL: a kernel without cgroup device programs.
            throw BerthError.system("load the device filter for \(path)" + (said.isEmpty ? "" : " (verifier: \(said))"), error,
                                    privilege: "CAP_BPF").with(object: .file(path))
        }
        defer { close(programFD) }
        let directory = openDirectory(path)
        guard directory >= 0 else { throw Self.failure("open cgroup \(path)", Errno.current, path) }
        defer { close(directory) }
        guard berth_bpf_attach_device_program(directory, programFD) == 0 else {
            throw BerthError.system("attach the device filter to \(path)", Errno.current, privilege: "CAP_BPF").with(object: .file(path))
        }
    }

    static func failure(_ operation: String, _ error: Errno, _ path: String) -> BerthError {
        BerthError.system(operation, error, privilege: "CAP_DAC_OVERRIDE").with(object: .file(path))
    }
}
