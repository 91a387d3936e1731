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
    /// As `docker exec`, the command starts from the container's own settings: its
    /// environment (with `environment` added over it), its working directory and its user,
    /// unless given here. `user` is resolved in the container's own passwd and group files.
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
        let process = try ContainerProcess.enter(pid: target.pid, namespaces: namespaces, command: command,
                                                 environment: (settings?.environment ?? []) + environment,
                                                 workingDirectory: workingDirectory ?? settings?.workingDirectory, stdin: stdin, stdout: stdout,
                                                 stderr: stderr, privileged: privileged, user: user ?? settings?.user, terminal: terminal,
                                                 terminalSize: terminalSize, confinement: settings?.confinement ?? Confinement(),
                                                 cgroup: currentCgroup(id: record.id, manager: manager))
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
    /// the caller's, and its stdin too with `interactive` (else /dev/null). The signals this
    /// process gets go to the command. Returns its exit.
    public static func exec(_ nameOrID: String, command: [String], environment: [String] = [], workingDirectory: String? = nil,
                            privileged: Bool = false, user: String? = nil, interactive: Bool, terminal: Bool,
                            attachment: Attachment = Attachment(), manager: NetworkManager) throws(BerthError) -> ContainerExit {
        try attachment.validate(interactive: interactive, terminal: terminal)
        var null: Int32 = -1
        if !interactive, !terminal {
            null = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard null >= 0 else { throw .system("open /dev/null", Errno(errno)) }
        }
        defer { if null >= 0 { close(null) } }
        SignalForwarding.hold()
        defer { SignalForwarding.stop() }
        let process = try exec(nameOrID, command: command, environment: environment, workingDirectory: workingDirectory,
                               stdin: interactive ? attachment.stdin : null, stdout: attachment.stdout, stderr: attachment.stderr,
                               privileged: privileged, user: user, terminal: terminal, terminalSize: attachment.terminal.flatMap(TerminalSize.of),
                               manager: manager)
        if null >= 0 {
            close(null)
            null = -1
        }
        SignalForwarding.forward(to: process)
        guard let master = process.terminal else { return try process.wait() }
        defer { close(master) }
        let raw = interactive ? RawTerminal(attachment.stdin) : nil
        defer { raw?.restore() }
        let pipeSignal = PipeSignalBlock()
        defer { pipeSignal.restore() }
        var relay = StdioRelay()
        relay.outputs = [.init(fd: master, stream: .stdout)]
        relay.stdout = attachment.stdout
        if interactive { relay.input = (attachment.stdin, master) }
        if let terminal = attachment.terminal { relay.resize = (terminal, master) }
        relay.run(until: process)
        return try process.wait()
    }

    /// Prints a container's log (`docker logs`): each chunk of its output as it came, to
    /// `output`, from the oldest kept (see `ContainerLog` for the bound). With `follow`, also
    /// what it writes next, until it stops.
    public static func logs(_ nameOrID: String, follow: Bool = false, manager: NetworkManager,
                            output: (ContainerLog.Stream, ArraySlice<UInt8>) -> Void) throws(BerthError) {
        let record = try find(nameOrID, manager: manager)
        let store = try manager.containerStore()
        let running: (() -> Bool)? = follow ? {
            guard let now = try? store.read({ tx throws(BerthError) in try tx.container(id: record.id) }) else { return false }
            return now.isActive
        } : nil
        do {
            try ContainerLog.read(state: manager.store.directory, id: record.id, follow: running, output: output)
        } catch {
            throw error.with(object: .container(record.name), operation: .logs)
        }
    }
}
