#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import BerthNamespace
import BerthConfine

/// Commands inside running containers (`docker exec`), and their output.
extension Container {
    /// Runs `command` inside a running container's namespaces and returns it running; `wait()`
    /// on it gives its exit. With `terminal` it gets a new terminal of the container's (its
    /// stdio descriptors are then ignored) whose master is the process's `terminal`.
    ///
    /// As `docker exec`, the command starts from the container's own settings: `HOSTNAME`
    /// (its hostname), its environment (with `environment` added over it), its working
    /// directory and its user, unless given here, and its ulimits. `user` is resolved in the
    /// container's own passwd and group files.
    public static func exec(_ nameOrID: String, command: [String], environment: [String] = [], workingDirectory: String? = nil,
                            stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil, privileged: Bool = false,
                            user: String? = nil, terminal: Bool = false, terminalSize: TerminalSize? = nil,
                            manager: NetworkManager) throws(BerthError) -> ContainerProcess {
        let record = try find(nameOrID, manager: manager)
        guard record.status == .running, let target = record.process, target.isAlive else {
            throw BerthError(.conflict, "container \(record.name) is not running", object: .container(record.name), operation: .exec,
                             remedy: .listExisting(.container))
        }
        var namespaces = ContainerNamespaces.all
        if record.network == ContainerNetwork.host.description { namespaces.remove(.network) }
        let settings = record.options?.process
        // As docker exec: the container's HOSTNAME (its own -e HOSTNAME wins), its
        // environment, then the command's.
        let process = try ContainerProcess.enter(pid: target.pid, startTime: target.startTime, namespaces: namespaces, command: command,
                                                 environment: ContainerSpec.daemonEnvironment(hostname: record.hostname, terminal: false)
                                                    + (settings?.environment ?? []) + environment,
                                                 workingDirectory: workingDirectory ?? settings?.workingDirectory, stdin: stdin, stdout: stdout,
                                                 stderr: stderr, privileged: privileged, user: user ?? settings?.user, terminal: terminal,
                                                 terminalSize: terminalSize, confinement: settings?.confinement ?? Confinement(),
                                                 cgroup: currentCgroup(record, manager: manager), ulimits: settings?.ulimits ?? [])
        // The pid could have been reused between the check and the namespace files' opening.
        guard target.isAlive else {
            _ = try? process.signal(SIGKILL)
            _ = try? process.wait()
            if let master = process.terminal { close(master) }
            throw BerthError(.notFound, "container \(record.name) ended while the command was entering it", object: .container(record.name), operation: .exec)
        }
        return process
    }

    /// `exec` attached to the caller's stdio, as `docker exec [-i] [-t]`: with `terminal`, the
    /// caller's terminal is put in raw mode (restored on return) and relayed to the command's
    /// new terminal, its window size followed; otherwise the command's stdout and stderr are
    /// pipes copied to the caller's, and its stdin one the caller's input is copied into with
    /// `interactive` (else /dev/null): never the caller's own descriptors, which on a terminal
    /// could be read from inside the container, by a background process even after the
    /// command ends. The signals this process gets go to the command. Returns its exit.
    public static func exec(_ nameOrID: String, command: [String], environment: [String] = [], workingDirectory: String? = nil,
                            privileged: Bool = false, user: String? = nil, interactive: Bool, terminal: Bool,
                            attachment: Attachment = Attachment(), manager: NetworkManager) throws(BerthError) -> ContainerExit {
        try attachment.validate(interactive: interactive, terminal: terminal)
        // The command's ends of its pipes, closed once it has its own copies; this process's.
        var childEnds: [Int32] = []
        var ownEnds: [Int32] = []
        defer { for fd in childEnds + ownEnds { close(fd) } }
        var relay = StdioRelay()
        relay.stdout = attachment.stdout
        var stdio: (stdin: Int32?, stdout: Int32?, stderr: Int32?) = (nil, nil, nil)
        var inputWrite: Int32 = -1
        defer { if inputWrite >= 0 { close(inputWrite) } }
        if !terminal {
            relay.stderr = attachment.stderr
            if interactive {
                let pipe = try Pipe.make()
                childEnds.append(pipe.read)
                inputWrite = pipe.write
                stdio.stdin = pipe.read
            } else {
                let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
                guard null >= 0 else { throw .system("open /dev/null", Errno(errno)) }
                childEnds.append(null)
                stdio.stdin = null
            }
            for stream in [ContainerLog.Stream.stdout, .stderr] {
                let pipe = try Pipe.make()
                childEnds.append(pipe.write)
                ownEnds.append(pipe.read)
                relay.outputs.append(.init(fd: pipe.read, stream: stream, closesWithSink: true))
                if stream == .stdout { stdio.stdout = pipe.write } else { stdio.stderr = pipe.write }
            }
        }
        SignalForwarding.hold()
        defer { SignalForwarding.stop() }
        let process = try exec(nameOrID, command: command, environment: environment, workingDirectory: workingDirectory,
                               stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr,
                               privileged: privileged, user: user, terminal: terminal, terminalSize: attachment.terminal.flatMap(TerminalSize.of),
                               manager: manager)
        for fd in childEnds { close(fd) }
        childEnds = []
        SignalForwarding.forward(to: process)
        if let master = process.terminal {
            ownEnds.append(master)
            relay.outputs = [.init(fd: master, stream: .stdout)]
            if interactive { relay.input = (attachment.stdin, master) }
            if let terminal = attachment.terminal { relay.resize = (terminal, master) }
        } else if inputWrite >= 0 {
            relay.input = (attachment.stdin, inputWrite)
            relay.closesInputTarget = true
            inputWrite = -1
        }
        let raw = terminal && interactive ? RawTerminal(attachment.stdin) : nil
        defer { raw?.restore() }
        let pipeSignal = PipeSignalBlock()
        defer { pipeSignal.restore() }
        relay.run(until: process)
        return try process.wait()
    }

    /// Prints a container's log (`docker logs`): each chunk of its output as it came, to
    /// `output`, from the oldest kept (see `ContainerLog` for the bound), or only its last
    /// `tail` lines (`docker logs --tail`), those `filter` selects, with their times if it
    /// says so (`--since`, `--until`, `--timestamps`: see `LogFilter`). With `follow`, also
    /// what it writes next, until it stops (or `filter.until` passes).
    public static func logs(_ nameOrID: String, follow: Bool = false, tail: Int? = nil, filter: LogFilter = LogFilter(), manager: NetworkManager,
                            output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) throws(BerthError) {
        let record = try find(nameOrID, manager: manager)
        let store = try manager.containerStore()
        let running: (() -> Bool)? = follow ? {
            guard let now = try? store.read({ tx throws(BerthError) in try tx.container(id: record.id) }) else { return false }
            // Until its supervisor lets go (it has released the network once it has recorded
            // the end), so `logs -f c; rm c` finds it free, as `wait` does.
            return now.isSupervised
        } : nil
        do {
            try ContainerLog.read(state: manager.store.directory, id: record.id, follow: running, tail: tail, filter: filter, output: output)
        } catch {
            throw error.with(object: .container(record.name), operation: .logs)
        }
    }
}
