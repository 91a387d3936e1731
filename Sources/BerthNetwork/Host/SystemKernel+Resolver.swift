#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace
import SystemPackage

extension SystemKernel {
    public func isRunning(_ process: ResolverProcess) -> Bool {
        ProcessStartTime.of(pid: process.pid) == process.startTime
    }

    public func signal(_ process: ResolverProcess, _ signal: Int32) -> Bool {
        // The pid could be recycled between the check and the kill; start times make that
        // window a few microseconds wide instead of the resolver's whole lifetime.
        guard isRunning(process) else { return false }
        return kill(process.pid, signal) == 0
    }

    /// posix_spawn of `berth-dns --state DIR --exit-when-empty --detach [--netns PATH]`
    /// in a new session, stdin from /dev/null, stderr appended to the log and stdout a pipe
    /// on which it says `pid N` (the resolver, a grandchild that init adopts, so that no
    /// caller keeps a zombie) and then `ready`.
    public func startResolver(_ launch: ResolverLaunch, in namespace: NetworkNamespace?) throws(BerthError) -> ResolverProcess {
        var arguments = [launch.executable, "--state", launch.stateDirectory, "--exit-when-empty", "--detach"]
        if let namespace { arguments += ["--netns", "/proc/\(getpid())/fd/\(namespace.descriptor)"] }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .system("create a pipe for berth-dns", Errno(rawValue: errno)) }
        // Close-on-exec: only the dup2 onto the child's stdout crosses the exec.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { close(fds[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, launch.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGPIPE, SIGTERM, SIGINT, SIGUSR1, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID (glibc ≥ 2.26).
        posix_spawnattr_setflags(&attributes, Int16(0x08 | 0x04 | 0x80))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, launch.executable, &actions, &attributes, &argv, environ)
        close(fds[1])
        guard rc == 0 else {
            throw BerthError(.system, "cannot start the resolver \(launch.executable): \(String(cString: strerror(rc)))",
                             hint: "install berth-dns beside berth (or name it in \(ResolverLaunch.executableEnvironmentVariable))",
                             object: .state(launch.executable))
        }
        let lines = Self.readLines(fds[0], until: "ready", timeoutMilliseconds: 30_000)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let child = lines.lazy.compactMap { $0.hasPrefix("pid ") ? Int32($0.dropFirst(4)) : nil }.first
        guard lines.last == "ready", let child, let start = ProcessStartTime.of(pid: child) else {
            if let child, let start = ProcessStartTime.of(pid: child) {
                // Gone before the next start tries to bind the same addresses (1 s at most).
                kill(child, SIGKILL)
                for _ in 0..<100 where ProcessStartTime.of(pid: child) == start { usleep(10_000) }
            }
            throw BerthError(.system, "the resolver did not report ready: \(Self.lastLine(of: launch.logPath) ?? "no message")",
                             hint: "see \(launch.logPath)", object: .state(launch.logPath))
        }
        return ResolverProcess(pid: child, startTime: start)
    }

    /// The lines read from `fd` until one equals `last`, EOF, or the deadline.
    private static func readLines(_ fd: Int32, until last: String, timeoutMilliseconds: Int) -> [String] {
        var lines: [String] = []
        var pending: [UInt8] = []
        var remaining = timeoutMilliseconds
        var buffer = [UInt8](repeating: 0, count: 256)
        while remaining > 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let before = ProcessStartTime.monotonicMilliseconds()
            let ready = poll(&poller, 1, Int32(remaining))
            remaining -= max(1, ProcessStartTime.monotonicMilliseconds() - before)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { break }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            pending += buffer[..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                lines.append(line)
                if line == last { return lines }
            }
        }
        return lines
    }

    private static func lastLine(of path: String) -> String? {
        guard let text = ProcFile.read(path) else { return nil }
        return text.split(separator: "\n").last.map(String.init)
    }
}

/// Start times of processes, from /proc.
enum ProcessStartTime {
    /// Field 22 of `/proc/PID/stat` (clock ticks after boot), or nil when there is no such
    /// process (or it is a zombie: a dead resolver is not running).
    static func of(pid: Int32) -> UInt64? {
        guard pid > 0, let text = ProcFile.read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // After the command (which may hold spaces and parentheses): field 3 onwards.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
