#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// close(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemClose(_ fd: Int32) { _ = close(fd) }
import BerthCore
import BerthNamespace

/// The caller's stdin, stdout and stderr a container runs attached to (`docker run` without
/// `-d`); this process's own by default.
public struct Attachment: Sendable, Hashable {
    /// The descriptor the container's input comes from.
    public var stdin: Int32
    /// The descriptor the container's standard output goes to.
    public var stdout: Int32
    /// The descriptor the container's standard error goes to.
    public var stderr: Int32

    /// Attached to the given descriptors; this process's 0, 1 and 2 unless told otherwise.
    public init(stdin: Int32 = 0, stdout: Int32 = 1, stderr: Int32 = 2) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Checks what Docker checks before it starts anything: an interactive terminal needs a
    /// terminal to read from.
    func validate(interactive: Bool, terminal: Bool) throws(BerthError) {
        if interactive, terminal, isatty(stdin) != 1 {
            throw .invalid("the input device is not a TTY", hint: "run it from a terminal, or ask for a terminal or for interactive input, not both",
                           parameter: "terminal")
        }
    }

    /// The terminal whose size the container's follows: stdin's, else stdout's.
    var terminal: Int32? {
        if isatty(stdin) == 1 { return stdin }
        if isatty(stdout) == 1 { return stdout }
        return nil
    }
}

/// One run's stdio under a supervisor: the descriptors the container's process gets, and
/// what the supervisor relays while it runs (`StdioRelay`).
///
/// - A terminal (`-t`): the container makes it; its master is relayed to the caller's
///   stdout (and from the caller's stdin with `-i`), following the caller's window size.
/// - Otherwise stdout and stderr are pipes the supervisor copies; stdin with `-i` is a pipe
///   the caller's input is copied into in the foreground (closed at its end of file), a pipe
///   held open when detached, else /dev/null. The container never gets one of the caller's
///   own descriptors: one on the caller's terminal could be read from inside it, even by a
///   background process after the run, as Docker relays too.
///
/// Everything is copied to the container's log as well.
final class SupervisedIO {
    private(set) var relay = StdioRelay()
    private var spec: (stdin: Int32?, stdout: Int32?, stderr: Int32?) = (nil, nil, nil)
    private let terminal: Bool
    private let terminalSize: TerminalSize?
    private let interactive: Bool
    private let attachment: Attachment?
    /// The child's ends, closed once it has its own copies.
    private var childEnds: [Int32] = []
    /// This process's ends, closed after the run.
    private var ownEnds: [Int32] = []
    /// The write end of the stdin pipe of a foreground `-i` run: the relay's once the
    /// relay runs (`runRelay`: it closes it at the caller's end of input), until then this one's.
    private var inputWrite: Int32 = -1

    init(options: RunOptions, attachment: Attachment?, log: ContainerLogWriter?) throws(BerthError) {
        terminal = options.process.terminal
        interactive = options.interactive
        self.attachment = attachment
        terminalSize = attachment?.terminal.flatMap(TerminalSize.of)
        relay.log = log
        relay.stdout = attachment?.stdout
        relay.stderr = attachment?.stderr
        do throws(BerthError) {
            if terminal { return }
            if interactive, attachment != nil {
                let pipe = try Pipe.make()
                childEnds.append(pipe.read)
                inputWrite = pipe.write
                spec.stdin = pipe.read
            } else if interactive {
                // Detached: a pipe whose write end this supervisor holds and never writes, so
                // a shell reading its input waits instead of ending (`docker run -dit`).
                let pipe = try Pipe.make()
                childEnds.append(pipe.read)
                ownEnds.append(pipe.write)
                spec.stdin = pipe.read
            } else {
                let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
                guard null >= 0 else { throw BerthError.system("open /dev/null", Errno(errno)) }
                childEnds.append(null)
                spec.stdin = null
            }
            for stream in [ContainerLog.Stream.stdout, .stderr] {
                let pipe = try Pipe.make()
                childEnds.append(pipe.write)
                ownEnds.append(pipe.read)
                relay.outputs.append(.init(fd: pipe.read, stream: stream, closesWithSink: true))
                if stream == .stdout { spec.stdout = pipe.write } else { spec.stderr = pipe.write }
            }
        } catch {
            close()
            throw error
        }
    }

    /// The spec as this run gives it its stdio.
    func apply(to process: inout ContainerSpec) {
        process.terminal = terminal
        process.terminalSize = terminal ? terminalSize : nil
        process.stdin = spec.stdin
        process.stdout = spec.stdout
        process.stderr = spec.stderr
    }

    /// The process exists: its ends are its own now; its terminal, if any, is relayed.
    func spawned(terminal master: Int32?) {
        for fd in childEnds { systemClose(fd) }
        childEnds = []
        guard let master else { return }
        ownEnds.append(master)
        relay.outputs = [.init(fd: master, stream: .stdout)]
        if let attachment {
            if interactive { relay.input = (attachment.stdin, master) }
            if let terminal = attachment.terminal { relay.resize = (terminal, master) }
        }
    }

    /// Relays until `process` ends (sending it the SIGKILL of `escalation`'s deadline, if a
    /// stop records one meanwhile). The stdin pipe's write end (a foreground `-i` run) is the
    /// relay's from here, which closes it at the caller's end of input; until this call it
    /// is this object's, so a launch that fails after the spawn has `close()` close it.
    func runRelay(until process: ContainerProcess, escalation: StopEscalation? = nil) {
        relay.escalation = escalation
        if inputWrite >= 0, let attachment {
            relay.input = (attachment.stdin, inputWrite)
            relay.closesInputTarget = true
            inputWrite = -1
        }
        relay.run(until: process)
    }

    /// Closes every descriptor of the run still open.
    func close() {
        for fd in childEnds + ownEnds { systemClose(fd) }
        if inputWrite >= 0 { systemClose(inputWrite) }
        inputWrite = -1
        childEnds = []
        ownEnds = []
    }
}
