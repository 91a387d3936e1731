#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
public import BerthCore
public import BerthConfine
public import BerthNamespace
import Synchronization

/// A container's process: started in its own namespaces, held before `execve` until the
/// caller has wired its network, then released.
///
/// ```swift
/// let child = try ContainerProcess.spawn(spec)        // namespaces and mounts exist, command not yet run
/// let netns = try child.networkNamespace()            // attach it to a bridge here
/// try child.start()                                   // or child.abort() if the attach failed
/// let status = try child.wait()                       // status.code is what `docker run` exits with
/// ```
///
/// Signals and waits go through a pidfd, so they reach this process or fail; they never hit
/// another process that reused its pid.
///
/// The command is PID 1 of its pid namespace, and the kernel delivers to a namespace's PID 1
/// only the signals it installed a handler for (SIGKILL excepted, when sent from outside). A
/// shell or a program that does not handle SIGTERM therefore ignores `signal(SIGTERM)`:
/// `Container.stop` sends SIGTERM, waits a grace period, then sends SIGKILL. Killing PID 1 ends
/// every process in the container.
///
/// With `ContainerSpec.initProcess` this process is Berth's init instead, the command its
/// child: signals sent here reach the command (the init blocks them all and passes each on),
/// and `wait()` returns the init's exit, which is the command's code or 128+N.
public final class ContainerProcess: Sendable {
    /// The process id, as seen from the caller's pid namespace.
    public let pid: Int32
    /// The master of the command's pseudo-terminal, when it was given one
    /// (`ContainerSpec.terminal`): what the caller writes there is the command's input, what
    /// it reads there the command's output. The caller owns it and closes it.
    public let terminal: Int32?
    private let pidfd: Int32
    /// What the command was, and the user it runs as (`-u`, nil: the caller's), for error
    /// messages: the user switch and the exec are reported after the release (`awaitExec`).
    private let program: String
    private let user: String?
    private let phase: Mutex<Phase>
    /// Held while reaping, so concurrent waits share one result.
    private let exit = Mutex<ContainerExit?>(nil)

    private enum Phase {
        /// Blocked before execve; the parent's ends of the start and status pipes.
        case held(startFd: Int32, statusFd: Int32)
        /// Released, its exec not yet reported; the parent's end of the status pipe.
        case releasing(statusFd: Int32)
        case running
        case aborted
    }

    private init(pid: Int32, pidfd: Int32, program: String, user: String?, phase: Phase, terminal: Int32? = nil) {
        self.pid = pid
        self.terminal = terminal
        self.pidfd = pidfd
        self.program = program
        self.user = user
        self.phase = Mutex(phase)
    }

    deinit {
        // A child still held before exec has run nothing: it must not outlive its handle. A
        // running one is left alone (a detached container outlives the CLI that started it).
        let held: (Int32, Int32)? = phase.withLock { phase in
            if case .held(let startFd, let statusFd) = phase { return (startFd, statusFd) }
            if case .releasing(let statusFd) = phase { phase = .running; close(statusFd) }
            return nil
        }
        if let (startFd, statusFd) = held {
            _ = berth_pidfd_signal(pidfd, SIGKILL)
            close(startFd)
            close(statusFd)
            var exited: Int32 = 0, value: Int32 = 0
            _ = berth_pidfd_wait(pidfd, &exited, &value)
        }
        SignalForwarding.released(pidfd)
        close(pidfd)
    }

    // MARK: - Spawning

    /// Starts the container's process and returns once it is set up and waiting: its
    /// namespaces exist, its root filesystem, `/proc`, `/dev`, hostname and working directory
    /// are in place, and its command was found. Nothing of the command has run yet.
    ///
    /// With a `cgroup` (made by `CgroupManager.create`), the child joins it while held, just
    /// after reporting ready: its command, and everything the command starts, run limited
    /// and accounted there. (Joining can wait milliseconds in the kernel; done then, it
    /// overlaps the caller's network set-up.)
    ///
    /// Any failure is thrown with the step that failed, after the child is reaped: nothing is
    /// left running.
    public static func spawn(_ spec: ContainerSpec, cgroup: ContainerCgroup? = nil) throws(BerthError) -> ContainerProcess {
        try spec.validate()
        // Parents before the mounts below them; a failed step's index names a mount of this order.
        var spec = spec
        spec.mounts = BindMount.inMountOrder(spec.mounts)
        let user = try spec.user.map { name throws(BerthError) in try ContainerUser.resolve(name, root: spec.rootfs ?? "/") }
        let exec = try ExecArguments(command: spec.command, environment: spec.processEnvironment, workingDirectory: spec.workingDirectory,
                                     stdio: (spec.stdin, spec.stdout, spec.stderr), privileged: spec.privileged, user: user,
                                     rootGroups: user == nil ? ContainerUser.rootGroups(root: spec.rootfs ?? "/") : [], confinement: spec.confinement,
                                     ulimits: spec.ulimits)
        let cgroupFiles = try CgroupFiles.open(cgroup)
        defer { cgroupFiles.close() }
        let volumes = try VolumeSources(spec.mounts)
        defer { volumes.closeAll() }
        let console = try spec.terminal ? ConsoleSocket.make() : nil
        defer { console?.closeBoth() }
        let status = try Pipe.make()
        let start: Pipe
        do { start = try Pipe.make() } catch { status.closeBoth(); throw error }
        let hostname = spec.hostname.map { CStringArray([$0]) }
        let rootfs = spec.rootfs.map { CStringArray([$0]) }
        let initExecutable = spec.initProcess ? InitExecutable.open() : -1
        defer { if initExecutable >= 0 { close(initExecutable) } }

        var pidfd: Int32 = -1
        let pid: Int32 = exec.withConfig(statusFd: status.write, syncFd: start.read, parentFds: (status.read, start.write),
                                         cgroup: cgroupFiles, console: console?.child ?? -1, terminalSize: spec.terminalSize) { execConfig in
            var config = berth_spawn_config()
            config.exec = execConfig
            config.namespaces = spec.namespaces.cloneFlags
            config.hostname = UnsafePointer(hostname?.pointer[0])
            config.rootfs = UnsafePointer(rootfs?.pointer[0])
            // Without a rootfs the container still sees the host's files, but a fresh /proc
            // over the host's is safe when the mount namespace is private to it (the mount
            // cannot propagate back) and right when it has its own pid namespace (ps shows the
            // container). Without a mount namespace it would cover the host's /proc: never.
            config.remount_proc = spec.namespaces.isSuperset(of: [.mount, .pid]) ? 1 : 0
            // A rootfs needs a /sys; on the host's files a fresh read-only one replaces the
            // host's writable tree (some of its files, /sys/power/state among them, are guarded
            // by their mode alone, which uid 0 passes whatever its capabilities).
            // A privileged container without a rootfs keeps the host's /sys as it is.
            config.mount_sys = spec.namespaces.contains(.mount) && (spec.rootfs != nil || !spec.privileged) ? 1 : 0
            config.restrict_kernel_files = spec.namespaces.contains(.mount) && !spec.privileged ? 1 : 0
            config.readonly_rootfs = spec.readOnlyRootfs ? 1 : 0
            config.`init` = spec.initProcess ? 1 : 0
            config.init_fd = initExecutable
            return volumes.withMounts { mounts, count in
                config.mounts = mounts
                config.mount_count = count
                return withExtendedLifetime((hostname, rootfs)) { berth_spawn(&config, &pidfd) }
            }
        }
        let cloneError = Errno(errno)
        close(status.write)
        close(start.read)
        guard pid > 0 else {
            close(status.read)
            close(start.write)
            if let cgroup, cgroupFiles.directory != nil, cloneError.code == EBUSY || cloneError.code == EOPNOTSUPP {
                // v2 refuses processes in a cgroup that has children with controllers enabled.
                throw BerthError(.system, "cannot create the container's process in cgroup \(cgroup.paths.joined())",
                                 hint: "a cgroup with processes must have no controllers enabled for children",
                                 object: .cgroup(cgroup.paths.joined()), parameter: "cgroup", cause: cloneError)
            }
            throw Self.cloneFailure(cloneError)
        }
        console?.closeChild()
        // From here until it runs, a ^C to a forwarding process kills it (its set-up may hang).
        SignalForwarding.holding(pidfd)
        let report = StatusRecord.read(from: status.read)
        // The terminal is sent before the ready report, so it is waiting in the socket.
        let master = if case .ready = report, let console { console.receive() } else { Int32?.none }
        let child = ContainerProcess(pid: pid, pidfd: pidfd, program: spec.command[0], user: spec.user, phase: .held(startFd: start.write, statusFd: status.read),
                                     terminal: master)
        switch report {
        case .ready:
            if console != nil, master == nil {
                child.abort()
                throw BerthError(.internalError, "the container process for \(spec.command[0]) sent no terminal")
            }
            return child
        case .failed(let step, let error):
            child.reapAfterFailure()
            throw SpawnStep(rawValue: step).error(error, program: spec.command[0], spec: spec, ulimits: spec.ulimits)
        case .ended, .unreadable:
            child.reapAfterFailure()
            throw BerthError(.internalError, "the container process for \(spec.command[0]) ended during set-up without a report")
        }
    }

    /// Runs `command` inside the namespaces of the running process `pid` (as `docker exec`),
    /// joining those in `namespaces` that differ from the caller's. Returns it running.
    ///
    /// With `terminal` it gets a new pseudo-terminal of the container's (its stdio are then
    /// ignored), whose master is the returned process's `terminal`, and `TERM=xterm` unless
    /// `environment` names `TERM`, as docker exec -t. `user` is resolved in the
    /// files the process `pid` sees. Give it the container's `confinement` and `cgroup`: a
    /// command entering a container runs under the same capabilities, filter and limits as
    /// the container's own; and its `ulimits`, as Docker's exec gets the container's.
    ///
    /// With `startTime` (field 22 of its `/proc/PID/stat`, `ProcessIdentity.startTime`), the
    /// process `pid` must be the one that started then: everything of it (its namespaces, the
    /// files `user` is resolved in) is reached through one handle on `/proc/PID` taken before
    /// that check, which keeps naming that process even if the pid is reused meanwhile.
    public static func enter(pid target: Int32, startTime: UInt64? = nil, namespaces: ContainerNamespaces = .all, command: [String],
                             environment: [String] = [], workingDirectory: String? = nil, stdin: Int32? = nil, stdout: Int32? = nil,
                             stderr: Int32? = nil, privileged: Bool = false, user: String? = nil, terminal: Bool = false,
                             terminalSize: TerminalSize? = nil, confinement: Confinement = Confinement(),
                             cgroup: ContainerCgroup? = nil, ulimits: [Ulimit] = []) throws(BerthError) -> ContainerProcess {
        guard target > 0 else { throw .invalid("invalid process id \(target)", hint: "give the pid of a running container") }
        try ContainerSpec.validate(command: command)
        try Ulimit.validate(ulimits)
        if let workingDirectory { try ContainerSpec.validateAbsolute(workingDirectory, what: "working directory", parameter: "workingDirectory") }
        let processDirectory = try Self.openProcess(target, startTime: startTime)
        defer { close(processDirectory) }
        let root = "/proc/self/fd/\(processDirectory)/root"
        let resolvedUser = try user.map { name throws(BerthError) in try ContainerUser.resolve(name, root: root) }
        // `TERM=xterm` with a terminal, as docker exec -t sets it; the caller's entries win.
        let exec = try ExecArguments(command: command, environment: ContainerSpec.daemonEnvironment(hostname: nil, terminal: terminal) + environment,
                                     workingDirectory: workingDirectory, stdio: (stdin, stdout, stderr),
                                     privileged: privileged, user: resolvedUser,
                                     rootGroups: resolvedUser == nil ? ContainerUser.rootGroups(root: root) : [], confinement: confinement,
                                     ulimits: ulimits)
        let cgroupFiles = try CgroupFiles.open(cgroup)
        defer { cgroupFiles.close() }
        let console = try terminal ? ConsoleSocket.make() : nil
        defer { console?.closeBoth() }

        var fds: [Int32] = [], types: [Int32] = []
        var pidNamespaceFd: Int32 = -1
        defer {
            for fd in fds { close(fd) }
            if pidNamespaceFd >= 0 { close(pidNamespaceFd) }
        }
        for kind in namespaces.kernelTypes {
            let path = "/proc/\(target)/ns/\(kind.file)"
            let fd = openat(processDirectory, "ns/\(kind.file)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = Errno(errno)
                if error.code == ENOENT || error.code == ESRCH {
                    throw BerthError(.notFound, "no process \(target)", hint: "is the container running?", cause: error)
                }
                throw .system("open \(path)", error)
            }
            if try Self.isOwn(namespaceFd: fd, file: kind.file) { close(fd); continue }
            if kind.namespace == .pid { pidNamespaceFd = fd } else { fds.append(fd); types.append(kind.flag) }
        }

        let status = try Pipe.make()
        var pidfd: Int32 = -1
        let pid: Int32 = exec.withConfig(statusFd: status.write, syncFd: -1, parentFds: (status.read, -1), cgroup: cgroupFiles,
                                         console: console?.child ?? -1, terminalSize: terminalSize) { execConfig in
            fds.withUnsafeBufferPointer { fdBuffer in
                types.withUnsafeBufferPointer { typeBuffer in
                    var config = berth_enter_config()
                    config.exec = execConfig
                    config.ns_fds = fdBuffer.baseAddress
                    config.ns_types = typeBuffer.baseAddress
                    config.ns_count = Int32(fds.count)
                    config.pid_ns_fd = pidNamespaceFd
                    return berth_enter(&config, &pidfd)
                }
            }
        }
        let cloneError = Errno(errno)
        close(status.write)
        guard pid > 0 else {
            close(status.read)
            throw .system("start a process in container \(target)", cloneError)
        }
        console?.closeChild()
        SignalForwarding.holding(pidfd)
        let report = StatusRecord.read(from: status.read)
        close(status.read)
        // Sent before exec, so it is waiting in the socket once the status pipe closed.
        let master = if case .ended = report, let console { console.receive() } else { Int32?.none }
        let child = ContainerProcess(pid: pid, pidfd: pidfd, program: command[0], user: user, phase: .running, terminal: master)
        switch report {
        case .ended:
            if console != nil, master == nil {
                // The process died before it made its terminal (killed from outside).
                child.reapAfterFailure()
                throw BerthError(.system, "the process entering container \(target) ended before it had its terminal")
            }
            return child
        case .failed(let step, let error):
            child.reapAfterFailure()
            throw SpawnStep(rawValue: step).error(error, program: command[0], spec: nil, user: user, ulimits: ulimits)
        case .ready, .unreadable:
            child.reapAfterFailure()
            throw BerthError(.internalError, "the process entering container \(target) sent an unexpected report")
        }
    }

    // MARK: - Driving it

    /// Lets the held process exec its command. Throws, with nothing left running, if exec
    /// fails (a binary for another architecture, a missing dynamic loader, …).
    public func start() throws(BerthError) {
        if try !release(waitingAtMost: nil) { try awaitExec() }
    }

    /// Lets the held process exec its command and waits at most `limit` (nil: as long as it
    /// takes) for the exec: true once it has exec'd, false if it has not reported yet (an
    /// exec blocked on a hung network filesystem) — `awaitExec()` then waits for the rest.
    /// Throws, with nothing left running, if exec fails.
    public func release(waitingAtMost limit: Duration?) throws(BerthError) -> Bool {
        // Its go-ahead given, it is no longer held: a signal from here on waits for `forward`
        // and reaches the command, as it did before it was held.
        SignalForwarding.released(pidfd)
        let fds: (Int32, Int32) = try phase.withLock { (phase) throws(BerthError) -> (Int32, Int32) in
            guard case .held(let startFd, let statusFd) = phase else {
                throw BerthError(.invalidArgument, "container process \(pid) was already started or aborted")
            }
            phase = .releasing(statusFd: statusFd)
            return (startFd, statusFd)
        }
        let (startFd, statusFd) = fds
        var go = UInt8(ascii: "G")
        let written = write(startFd, &go, 1)
        let writeError = Errno(errno)
        close(startFd)
        guard written == 1 else {
            finishReleasing(statusFd)
            reapAfterFailure()
            throw .system("release container process \(pid)", writeError)
        }
        if let limit {
            var ready = pollfd(fd: statusFd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000)
            var polled: Int32
            repeat { polled = poll(&ready, 1, milliseconds) } while polled < 0 && errno == EINTR
            if polled == 0 { return false }
        }
        try awaitExec()
        return true
    }

    /// Waits for the exec of a process `release(waitingAtMost:)` let go before it reported;
    /// throws, with nothing left running, if exec failed. Returns at once once reported.
    public func awaitExec() throws(BerthError) {
        let statusFd: Int32? = phase.withLock { phase in
            guard case .releasing(let statusFd) = phase else { return nil }
            return statusFd
        }
        guard let statusFd else { return }
        let status = StatusRecord.read(from: statusFd)
        finishReleasing(statusFd)
        switch status {
        case .ended:
            return
        case .failed(let step, let error):
            reapAfterFailure()
            throw SpawnStep(rawValue: step).error(error, program: program, spec: nil, user: user)
        case .ready, .unreadable:
            reapAfterFailure()
            throw BerthError(.internalError, "container process \(pid) sent an unexpected report")
        }
    }

    /// The exec reported (or cannot be): the status pipe goes, the process runs or is reaped.
    private func finishReleasing(_ statusFd: Int32) {
        phase.withLock { phase in
            if case .releasing(let fd) = phase, fd == statusFd { phase = .running }
        }
        close(statusFd)
    }

    /// Kills a process that was never started (its network attach failed, say) and reaps
    /// it; nothing of it is left. Does nothing to a process already started or aborted.
    public func abort() {
        let fds: (Int32, Int32)? = phase.withLock { phase in
            guard case .held(let startFd, let statusFd) = phase else { return nil }
            phase = .aborted
            return (startFd, statusFd)
        }
        guard let (startFd, statusFd) = fds else { return }
        _ = berth_pidfd_signal(pidfd, SIGKILL)
        close(startFd)
        close(statusFd)
        _ = try? wait()
    }

    /// Sends `signal` to the process (see the type's note on PID 1 and SIGTERM).
    public func signal(_ signal: Int32) throws(BerthError) {
        guard berth_pidfd_signal(pidfd, signal) == 0 else {
            let error = Errno(errno)
            if error.code == ESRCH { throw BerthError(.notFound, "container process \(pid) has already exited", cause: error) }
            throw .system("send signal \(signal) to container process \(pid)", error, privilege: "CAP_KILL")
        }
    }

    /// Blocks until the process ends and reaps it; later calls return the same status.
    /// It blocks a thread: call it from a thread of your own, not a Swift concurrency one.
    public func wait() throws(BerthError) -> ContainerExit {
        try exit.withLock { (cached) throws(BerthError) -> ContainerExit in
            if let cached { return cached }
            var exited: Int32 = 0, value: Int32 = 0
            guard berth_pidfd_wait(pidfd, &exited, &value) == 0 else {
                throw .system("wait for container process \(pid)", Errno(errno))
            }
            let status: ContainerExit = exited != 0 ? .exited(value) : .signaled(value)
            cached = status
            return status
        }
    }

    /// The pidfd, for `SignalForwarding`'s handler (which can call nothing that locks).
    var signalDescriptor: Int32 { pidfd }

    /// The container's network namespace, for attaching it to a network before `start()`.
    public func networkNamespace() throws(BerthError) -> NetworkNamespace {
        try NetworkNamespace.open(pid: pid)
    }

    // MARK: - Helpers

    /// After a reported failure the child is exiting on its own; make sure, and reap it.
    private func reapAfterFailure() {
        _ = berth_pidfd_signal(pidfd, SIGKILL)
        _ = try? wait()
    }

    private static func cloneFailure(_ error: Errno) -> BerthError {
        switch error.code {
        case EPERM:
            BerthError(.permissionDenied, "cannot create the container's namespaces", remedy: .privilege("CAP_SYS_ADMIN"), cause: error)
        case ENOSPC, EUSERS:
            BerthError(.conflict, "the namespace limit is reached", hint: "raise /proc/sys/user/max_*_namespaces or stop containers", cause: error)
        case EINVAL:
            BerthError(.unsupported, "the kernel refused the namespace flags", hint: "check CONFIG_*_NS in the kernel", cause: error)
        default:
            .system("start the container process", error)
        }
    }

    /// A handle on `/proc/PID`, checked to be the process that started at `startTime` when
    /// given (a handle keeps naming the process it was opened on: a pid reused after the
    /// check makes what is opened through it fail, never reach another process).
    private static func openProcess(_ pid: Int32, startTime: UInt64?) throws(BerthError) -> Int32 {
        let fd = open("/proc/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = Errno(errno)
            if error.code == ENOENT { throw BerthError(.notFound, "no process \(pid)", hint: "is the container running?", cause: error) }
            throw .system("open /proc/\(pid)", error)
        }
        if let startTime, ProcStat.read(directory: fd)?.startTime != startTime {
            close(fd)
            throw BerthError(.notFound, "process \(pid) is no longer the one that was started", hint: "is the container running?")
        }
        return fd
    }

    /// Whether a namespace file refers to the caller's own namespace of that kind.
    private static func isOwn(namespaceFd fd: Int32, file: String) throws(BerthError) -> Bool {
        var theirs = stat(), ours = stat()
        guard fstat(fd, &theirs) == 0 else { throw .system("inspect namespace \(file)", Errno(errno)) }
        guard stat("/proc/self/ns/\(file)", &ours) == 0 else { throw .system("inspect own namespace \(file)", Errno(errno)) }
        return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino
    }
}
