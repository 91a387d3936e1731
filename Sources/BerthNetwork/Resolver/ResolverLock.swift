#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace

/// How the resolver of a state directory is found without the state's record: `berth-dns
/// --state DIR` holds `flock(LOCK_EX)` on `DIR/berth-dns.lock` for its whole life, with its
/// pid and start time written in it (`PID STARTTIME\n`). The kernel drops the lock when the
/// process ends, so a held lock is a live resolver.
///
/// The record (`resolver` row) is written in the transaction of the attach or reconcile
/// that started it, and a process killed before that COMMIT (a runtime's timeout, SIGKILL
/// during the wait for `ready`) leaves a resolver running with no row, bound to the
/// gateways. The lock is how the next attach, `reconcile` and `gc` find it (and adopt or
/// stop it), and why a second resolver for the same state refuses to start, naming the
/// first, instead of failing on a busy address.
public enum ResolverLock {
    /// The lock file's name inside the state directory.
    public static let fileName = "berth-dns.lock"

    /// The lock file of `stateDirectory`.
    public static func path(stateDirectory: String) -> String {
        stateDirectory + "/" + fileName
    }

    /// Takes the lock for `process` (the caller, the resolver itself) and writes its
    /// identity into the file; returns the descriptor, to keep open for the process's life
    /// (close-on-exec). A holder that does not let go within `timeout` (another resolver
    /// serving the state) is a `.conflict` naming it.
    public static func acquire(stateDirectory: String, as process: ProcessIdentity,
                               timeout: Duration = .seconds(1)) throws(BerthError) -> Int32 {
        let path = path(stateDirectory: stateDirectory)
        // Never through a symlink: root truncates and writes the file.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let error = Errno.current
            if error.code == ELOOP {
                throw BerthError(.permissionDenied, "resolver lock \(path) is a symbolic link; Berth does not follow symlinks in its state directory",
                                 hint: "remove the link \(path); Berth will create the file", object: .state(path))
            }
            throw .system("open \(path)", error)
        }
        // A checker (`holder`) takes the lock shared for an instant: wait it out.
        let deadline = MonotonicClock.now + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = Errno.current
            guard error.code == EWOULDBLOCK || error.code == EINTR else {
                close(fd)
                throw .system("lock \(path)", error)
            }
            guard MonotonicClock.now < deadline else {
                let holder = recorded(fd).map { " (\($0))" } ?? ""
                close(fd)
                throw BerthError(.conflict, "another resolver serves the state in \(stateDirectory)\(holder)",
                                 hint: "stop it, or let it serve", object: .state(path))
            }
            Sleep.for(.milliseconds(10))
        }
        let line = Array("\(process.pid) \(process.startTime)\n".utf8)
        let written = line.withUnsafeBytes { bytes -> Int in
            guard ftruncate(fd, 0) == 0 else { return -1 }
            return pwrite(fd, bytes.baseAddress, bytes.count, 0)
        }
        guard written == line.count else {
            let error = Errno.current
            close(fd)
            throw .system("write \(path)", error)
        }
        return fd
    }

    /// The resolver that holds the lock of `stateDirectory`, if one runs: the identity it
    /// wrote, checked against the process table. Nil when the file is missing, nobody holds
    /// it, or its holder is not the process it names. Costs an open, a flock and a read.
    public static func holder(stateDirectory: String) -> ProcessIdentity? {
        let fd = open(path(stateDirectory: stateDirectory), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            // Nobody holds it: no resolver runs for this state.
            flock(fd, LOCK_UN)
            return nil
        }
        // Held: the holder writes its identity right after taking the lock, so an empty
        // file is one that is starting this instant.
        for _ in 0..<50 {
            if let process = recorded(fd) { return process.isAlive ? process : nil }
            Sleep.for(.milliseconds(10))
        }
        return nil
    }

    /// The identity written in the file, if it parses.
    private static func recorded(_ fd: Int32) -> ProcessIdentity? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let fields = buffer[..<count].split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") })
        guard fields.count == 2, let pid = Int32(String(decoding: fields[0], as: UTF8.self)), pid > 0,
              let start = UInt64(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }
}
