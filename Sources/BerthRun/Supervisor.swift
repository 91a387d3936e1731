#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
public import BerthCore
public import BerthNetwork
import BerthNamespace

/// The process that runs a container and stays with it: it forwards signals to the command,
/// reaps it, reports its exit and cleans up (detaches its endpoint, removes its record) —
/// what containerd-shim is to Docker.
///
/// In the foreground the caller is the supervisor (`run`). Detached (`start`), the supervisor
/// is a new process of the calling program, in a session of its own, that outlives the
/// caller:
///
/// ```swift
/// // In the program's entry point, before anything else:
/// if Array(CommandLine.arguments.dropFirst()) == ["_supervise"] { Supervisor.main() }
/// // Where it starts a container in the background:
/// let started = try Supervisor.start(options, entry: Supervisor.Entry(arguments: ["_supervise"]))
/// print(started.name)
/// ```
///
/// The options reach the new process as a value — JSON in an anonymous file on its stdin —
/// never as arguments to parse again; its one report (the container started, or the error
/// that left nothing behind, with all of the error's fields) comes back as JSON on a pipe.
public enum Supervisor {
    /// How to reach `Supervisor.main()` in a new process of this program.
    public struct Entry: Sendable, Hashable {
        /// The program; `/proc/self/exe` is the running one, whatever its path.
        public var executable: String
        /// The arguments that make it call `Supervisor.main()` (a hidden command of its own).
        public var arguments: [String]

        /// An entry that runs `executable` (this program unless told otherwise) with `arguments`.
        public init(executable: String = "/proc/self/exe", arguments: [String]) {
            self.executable = executable
            self.arguments = arguments
        }
    }

    /// A container running under a detached supervisor.
    public struct Detached: Sendable {
        /// The container's id (64 hex digits) and name.
        public let id: String
        /// The container's name.
        public let name: String
        /// The supervisor process. It is this process's child: a long-lived caller should
        /// `wait()` on it some time (it ends when the container does), or it stays a zombie
        /// until the caller exits.
        public let supervisor: ContainerProcess
        /// What starting it changed for the host — the default network made on first use
        /// (`HostWarning`) — for the caller to tell its user. Empty when the network existed.
        public let hostWarnings: [HostWarning]
    }

    /// The most a request or a report may hold; a command line cannot be longer than the
    /// kernel's argument limit anyway (a few MiB at most).
    static let requestLimit = 16 << 20
    static let reportLimit = 1 << 20

    /// Creates a container and supervises it in this process until it stops for good,
    /// attached to the caller's stdio (`docker run` without `-d`): its output is copied to
    /// `attachment`'s stdout and stderr (and to its log), its stdin is the caller's with
    /// `options.interactive`, and with a terminal (`options.process.terminal`) the caller's
    /// terminal is put in raw mode — restored on return, whatever happened — and relayed to
    /// the container's, its window size followed. The signals a terminal or a service manager
    /// sends this process (`SignalForwarding`) go to the command. `started` is called once the
    /// command runs. Returns the command's last exit, after the network was released and the
    /// exit recorded (or the container removed, with `options.autoRemove`).
    ///
    /// `warned` is told what making the default network on first use changed for the host
    /// (`HostWarning`: forwarding turned on, another firewall's forward chain that drops its
    /// traffic), as soon as it is made — before the caller's terminal is put in raw mode —
    /// for the caller to tell its user.
    ///
    /// With a restart policy it starts the command again as the policy says, until a stop or
    /// a terminating signal.
    public static func run(_ options: RunOptions, manager: NetworkManager, attachment: Attachment = Attachment(),
                           warned: @escaping ([HostWarning]) -> Void = { _ in },
                           started: (RunningContainer) -> Void = { _ in }) throws(BerthError) -> ContainerExit {
        try options.validate()
        try attachment.validate(interactive: options.interactive, terminal: options.process.terminal)
        try refuseDescriptors(options)
        var warnings: [HostWarning] = []
        let record = try Container.create(options, manager: manager, warnings: &warnings)
        if !warnings.isEmpty { warned(warnings) }
        let supervision = Supervision(record: record, options: options, attachment: attachment, manager: manager, warned: warned)
        do {
            return try supervision.run(started: started)
        } catch {
            if !supervision.hasStarted { try? Container.discard(record, manager: manager) }
            throw error
        }
    }

    /// Starts a container under a detached supervisor and returns once it runs — or throws
    /// the error that stopped it, after which nothing of it is left.
    ///
    /// The supervisor is `entry` run as a new process of the caller's privilege, in a new
    /// session (a hangup or Ctrl-C of the caller's terminal is not for it), with /dev/null as
    /// its stdio; the container's output goes to its log (`Container.logs`). The state is the
    /// one in `stateDirectory` (else `BERTH_STATE_DIR`, else /var/lib/berth), seen from the
    /// caller's network namespace. `options.process` must not carry stdio descriptors: they
    /// belong to this process. `resolverExecutable` is the supervisor's
    /// `NetworkManager.resolverExecutable` (`berth-dns`'s path; nil looks beside `entry`).
    public static func start(_ options: RunOptions, stateDirectory: String? = nil, resolverExecutable: String? = nil,
                             entry: Entry) throws(BerthError) -> Detached {
        try options.validate()
        try refuseDescriptors(options)
        let request = SupervisorRequest(options: options, stateDirectory: try absolute(StateStore.resolveDirectory(stateDirectory)),
                                        resolverExecutable: resolverExecutable)
        return try launch(request, entry: entry)
    }

    /// Starts a stopped container again under a detached supervisor, with the settings it
    /// was created with (network, ports, root filesystem, command, environment, …); returns
    /// once it runs. Throws `.conflict` if it runs already, and the start's error — a port
    /// someone else took meanwhile, say — leaving it stopped as it was. A container orphaned
    /// by a dead supervisor is stopped first. `resolverExecutable` as for `start(_:…)`.
    public static func start(existing nameOrID: String, stateDirectory: String? = nil, resolverExecutable: String? = nil,
                             entry: Entry) throws(BerthError) -> Detached {
        let directory = try absolute(StateStore.resolveDirectory(stateDirectory))
        let manager = try NetworkManager(stateDirectory: directory, resolverExecutable: resolverExecutable)
        let found = try Container.find(nameOrID, manager: manager)
        // Ended, its supervisor still releasing it: waited out rather than refused as stopping.
        guard let record = try Container.awaitRelease(found, manager: manager) else {
            throw BerthError(.notFound, "container \(found.name) was removed when it ended, as it was run to be", object: .container(found.name),
                             operation: .start, parameter: "autoRemove", remedy: .listExisting(.container))
        }
        if record.isActive {
            throw BerthError(.conflict, "container \(record.name) is already running", object: .container(record.name), operation: .start,
                             remedy: .stop(.container(record.name)))
        }
        // Claimed before anything is released (a concurrent gc or start then leaves it alone);
        // one that changed meanwhile is left to the new supervisor's claim to judge.
        if record.status != .exited {
            // One run with `autoRemove` is removed by its clean-up: nothing is left to start.
            if let left = try Container.reapOrphan(record, manager: manager), left.options?.autoRemove == true, !left.restartRequested {
                throw BerthError(.notFound, "container \(record.name) was removed when its orphaned run was cleaned up, as it was run to be",
                                 object: .container(record.name), operation: .start, parameter: "autoRemove", remedy: .listExisting(.container))
            }
        } else if record.supervisor != nil, !record.isSupervised {
            // Its supervisor died after recording the exit: what it may still hold goes first.
            _ = try Container.finishOrphan(record, removes: false, manager: manager)
        }
        guard record.options != nil else {
            throw BerthError(.unsupported, "container \(record.name) was created by an older berth that did not record its settings",
                             hint: "remove it and run it again", object: .container(record.name), operation: .start)
        }
        return try launch(SupervisorRequest(.start(id: record.id), stateDirectory: directory, resolverExecutable: resolverExecutable), entry: entry)
    }

    /// Runs `entry` with `request` on its stdin and reads its one report.
    private static func launch(_ request: SupervisorRequest, entry: Entry) throws(BerthError) -> Detached {
        let requestFile = try AnonymousFile(name: "berth-supervisor-request", contents: Array(request.json.render().utf8))
        defer { close(requestFile.descriptor) }
        let report = try Pipe.make()
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else {
            report.closeBoth()
            throw .system("open /dev/null", Errno(errno))
        }
        // It is no container: no namespaces of its own, the caller's privileges.
        let spec = ContainerSpec(command: [entry.executable] + entry.arguments, namespaces: [],
                                 stdin: requestFile.descriptor, stdout: report.write, stderr: null, privileged: true)
        let supervisor: ContainerProcess
        do {
            supervisor = try ContainerProcess.spawn(spec)
            close(report.write)
            close(null)
        } catch {
            report.closeBoth()
            close(null)
            throw error
        }
        do {
            try supervisor.start()
        } catch {
            close(report.read)
            throw error
        }
        // Until the supervisor closes its end: after its report, or when it dies.
        let bytes = FileIO.readAll(report.read, limit: reportLimit)
        close(report.read)
        switch try? SupervisorReport(json: JSONValue(parsingUTF8: bytes)) {
        case .started(let id, let name, let warnings):
            return Detached(id: id, name: name, supervisor: supervisor, hostWarnings: warnings)
        case .failed(let error):
            _ = try? supervisor.wait()
            throw error
        case nil:
            let status = try supervisor.wait()
            let text = String(decoding: bytes.prefix(200), as: UTF8.self)
            throw BerthError(.internalError, "the container's supervisor ended (\(status)) without a readable report" + (text.isEmpty ? "" : ": \(text)"))
        }
    }

    /// The body of the entry point `start` runs: reads the request on stdin, runs (or starts
    /// again) the container, reports, and stays until it stops for good; then exits with its
    /// last status (1 if it never started). Call it before anything else the program does.
    public static func main() -> Never {
        // Before anything is read or opened: this process spawns the container, and must not
        // run a binary the container could write to (SealedExecutable). The exec, if any, starts
        // `main` again with the same stdin, stdout and arguments; a failure is reported below.
        var sealing: BerthError?
        do { try SealedExecutable.ensure() } catch { sealing = error }
        // Out of the caller's session: a hangup or Ctrl-C on its terminal is not for us.
        _ = setsid()
        // A caller killed before reading the report must not take the supervisor with it.
        _ = signal(SIGPIPE, SIG_IGN)
        let input = FileIO.readAll(0, limit: requestLimit)
        let report = fcntl(1, F_DUPFD_CLOEXEC, 3)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 {
            _ = dup2(null, 0)
            _ = dup2(null, 1)
        }
        var reported = false
        func send(_ message: SupervisorReport) {
            FileIO.writeAll(report, Array((message.json.render() + "\n").utf8))
            close(report)
            reported = true
        }
        do throws(BerthError) {
            if let sealing { throw sealing }
            let request = try SupervisorRequest(json: JSONValue(parsingUTF8: input))
            let manager = try NetworkManager(stateDirectory: request.stateDirectory, resolverExecutable: request.resolverExecutable)
            let record: ContainerRecord
            let options: RunOptions
            // What making the default network changed for the host: the caller tells its user.
            var warnings: [HostWarning] = []
            switch request.work {
            case .run(let given):
                options = given
                record = try Container.create(options, manager: manager, warnings: &warnings)
            case .start(let id):
                let me = try ProcessIdentity.current()
                record = try manager.containerStore().write { tx throws(BerthError) in try tx.claimForStart(id: id, supervisor: me) }
                guard let kept = record.options else { throw BerthError(.internalError, "container \(record.name) has no settings") }
                options = kept
            }
            let supervision = Supervision(record: record, options: options, attachment: nil, manager: manager) { more in warnings += more }
            let status: ContainerExit
            do {
                status = try supervision.run { container in send(.started(id: container.record.id, name: container.name, warnings: warnings)) }
            } catch {
                if !supervision.hasStarted {
                    if case .run = request.work { try? Container.discard(record, manager: manager) } else { try? Container.unsupervise(record, manager: manager) }
                }
                throw error
            }
            exit(status.code)
        } catch {
            if !reported { send(.failed(error)) }
            exit(1)
        }
    }

    /// The caller's descriptors cannot cross to another process, and a supervisor makes the
    /// container's stdio itself (see `Attachment`).
    private static func refuseDescriptors(_ options: RunOptions) throws(BerthError) {
        let process = options.process
        guard process.stdin == nil, process.stdout == nil, process.stderr == nil else {
            throw .invalid("a supervised container gets its stdin, stdout and stderr from its supervisor",
                           hint: "pass no descriptors; attach the caller's stdio instead", parameter: "stdio")
        }
    }

    /// `path` as an absolute path: the supervisor runs in `/`.
    static func absolute(_ path: String) throws(BerthError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw .system("find the current directory for state directory \(path)", Errno(errno)) }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
    }
}

/// An unnamed file in memory holding some bytes, positioned at its start.
struct AnonymousFile {
    let descriptor: Int32

    init(name: String, contents: [UInt8]) throws(BerthError) {
        let fd = berth_memfd_cloexec(name)
        guard fd >= 0 else { throw .system("create an in-memory file", Errno(errno)) }
        guard FileIO.writeAll(fd, contents), lseek(fd, 0, SEEK_SET) == 0 else {
            let error = Errno(errno)
            close(fd)
            throw .system("write an in-memory file", error)
        }
        descriptor = fd
    }
}

/// Whole reads and writes on a descriptor, retried across EINTR and short counts.
enum FileIO {
    /// Everything until end of file, or the first `limit` bytes; stops at an error.
    static func readAll(_ fd: Int32, limit: Int) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while data.count < limit {
            let n = read(fd, &buffer, min(buffer.count, limit - data.count))
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return data
    }

    /// How long a write to a non-blocking descriptor waits for room without any progress
    /// before it fails (EAGAIN): a reader that has stopped for good, not a slow one.
    static let stalledWriteLimit: Duration = .seconds(30)

    /// Writes all of `bytes`; false (errno set) if a write failed. A descriptor in
    /// non-blocking mode (a caller's stdout whose open file another process made so) that
    /// is full is waited on until it takes more (EAGAIN is no failure), for at most
    /// `stalled` without progress; then false, errno EAGAIN. `waiting` runs at least every
    /// 100 ms of that wait: the relay's own duties (a stop's SIGKILL at its deadline) do not
    /// wait for a stalled reader.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], stalled: Duration = stalledWriteLimit, waiting: (() -> Void)? = nil) -> Bool {
        var offset = 0
        var deadline: Duration?
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                let limit = deadline ?? MonotonicClock.now + stalled
                deadline = limit
                let left = limit - MonotonicClock.now
                guard left > .zero else {
                    errno = EAGAIN
                    return false
                }
                var room = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&room, 1, Int32(clamping: Container.milliseconds(min(left, .milliseconds(100)))))
                waiting?()
                continue
            }
            if n <= 0 { return false }
            offset += n
            deadline = nil
        }
        return true
    }
}
