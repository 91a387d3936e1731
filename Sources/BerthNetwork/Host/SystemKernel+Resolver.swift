#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNamespace
import SystemPackage

extension SystemKernel {
    /// Whether `/proc/PID` exists with the recorded start time: a reused pid is not the resolver.
    public func isRunning(_ process: ResolverProcess) -> Bool { process.isAlive }

    /// The live holder of the state directory's resolver lock (`ResolverLock.holder`): an
    /// open, a non-blocking flock and a read, waiting up to 0.5 s for a starting holder's identity.
    public func resolverHolding(stateDirectory: String) -> ResolverProcess? {
        ResolverLock.holder(stateDirectory: stateDirectory)
    }

    /// Through a handle on /proc/PID checked against the start time: never another process.
    public func signal(_ process: ResolverProcess, _ signal: Int32) -> Bool {
        (try? process.signal(signal)) ?? false
    }

    /// Why networking code starts a program here: issue 17 asks for one resolver process per
    /// host, started by the first attach to a DNS network and outliving it, and the only
    /// process that can be is Berth's own `berth-dns` (found beside the running executable);
    /// no external tool is run. It is the second such exception after `IPAMPlugin`'s CNI
    /// delegation, and like it lives behind `KernelAccess`, so policy tests use a fake.
    ///
    /// posix_spawn of `berth-dns --state DIR --exit-when-empty --detach [--netns PATH]`
    /// in a new session, stdin from /dev/null, stderr appended to the log and stdout a pipe
    /// on which it says `pid N STARTTIME` (the resolver, a grandchild that init adopts, so
    /// that no caller keeps a zombie; `ResolverLaunch.pidLine`) and then `ready`.
    public func startResolver(_ launch: ResolverLaunch, in namespace: NetworkNamespace?) throws(BerthError) -> ResolverProcess {
        var arguments = [launch.executable, "--state", launch.stateDirectory, "--exit-when-empty", "--detach"]
        if let namespace { arguments += ["--netns", "/proc/\(getpid())/fd/\(namespace.descriptor)"] }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .system("create a pipe for berth-dns", Errno(rawValue: errno)) }
        // Close-on-exec: only the dup2 onto the child's stdout crosses the exec.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { close(fds[0]) }
        let spawned = DetachedSpawn.start(arguments, stdout: .descriptor(fds[1]), stderr: .appending(launch.logPath))
        close(fds[1])
        let pid: pid_t
        switch spawned {
        case .success(let started): pid = started
        case .failure(let error):
            throw BerthError(.system, "cannot start the resolver \(launch.executable): \(error.description)",
                             hint: "install berth-dns as \(launch.executable) (or name another path in \(ResolverLaunch.executableEnvironmentVariable))",
                             object: .state(launch.executable))
        }
        let lines = Self.readLines(fds[0], until: "ready", timeoutMilliseconds: 30_000)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // The identity the resolver reported for itself (pid and start time): the resolver
        // is init's child, not ours, so /proc/PID read now might already be another
        // process's, had it exited and its pid been reused.
        let reported = ResolverLaunch.reportedIdentity(in: lines)
        guard lines.last == "ready", let resolver = reported, resolver.isAlive else {
            if let stray = reported {
                // Gone before the next start tries to bind the same addresses (1 s at most);
                // the signal goes to that very process only (`ProcessIdentity.signal`).
                _ = try? stray.signal(SIGKILL)
                _ = stray.waitForExit(timeout: .seconds(1), interval: .milliseconds(10))
            }
            throw BerthError(.system, "the resolver did not report ready: \(Self.lastLine(of: launch.logPath) ?? "no message")",
                             hint: "see \(launch.logPath)", object: .state(launch.logPath))
        }
        return resolver
    }

    /// The lines read from `fd` until one equals `last`, EOF, or the deadline.
    private static func readLines(_ fd: Int32, until last: String, timeoutMilliseconds: Int) -> [String] {
        var lines: [String] = []
        var pending: [UInt8] = []
        var remaining = timeoutMilliseconds
        var buffer = [UInt8](repeating: 0, count: 256)
        while remaining > 0 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let before = Int(MonotonicClock.milliseconds())
            let ready = poll(&poller, 1, Int32(remaining))
            remaining -= max(1, Int(MonotonicClock.milliseconds()) - before)
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
