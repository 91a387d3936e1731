#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) and write(2) under names no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
import BerthCore
import Synchronization

/// Copies a running process's output to the caller's stdout and stderr (when attached) and
/// to its log, and the caller's input to it, until the process ends — what containerd-shim
/// and `docker attach` do between them. One thread, one `poll` over every descriptor and
/// the process's pidfd.
///
/// Output is read as it comes and written whole; input the process does not read yet waits
/// in a buffer (non-blocking writes), so a container that ignores its stdin never stops its
/// output from flowing.
struct StdioRelay {
    struct Output {
        /// The container's side: a pipe's read end or a terminal's master.
        let fd: Int32
        let stream: ContainerLog.Stream
        /// A pipe of the container's own (never a terminal's master, which is its input too):
        /// once the caller's sink for `stream` is closed (EPIPE), this end is closed too, so
        /// the command's next write fails with EPIPE (or SIGPIPE ends it) as in a shell
        /// pipeline — `berth run … yes | head -1` ends, as `docker run` does. Only attached
        /// runs have a sink to lose: a detached container's output keeps going to its log.
        var closesWithSink = false
    }

    var outputs: [Output] = []
    /// The caller's input and where it goes (a terminal's master, or a pipe's write end).
    var input: (source: Int32, target: Int32)?
    /// Whether `input.target` is a pipe the relay owns: closed once the caller's input ends,
    /// so the process reads end of file (`echo hi | berth run -i … cat`), and at the latest
    /// when the relay stops. A terminal's master stays open: its end of input is the
    /// caller's ^D, typed through.
    var closesInputTarget = false
    /// The caller's stdout and stderr; nil when detached.
    var stdout: Int32?
    var stderr: Int32?
    var log: ContainerLogWriter?
    /// Follow the caller's terminal size: on SIGWINCH, read it from `terminal` and set it on
    /// `master`.
    var resize: (terminal: Int32, master: Int32)?
    /// A supervisor's: the SIGKILL a `stop` asked for at its deadline.
    var escalation: StopEscalation?

    /// Relays until `process` ends, then reads what its outputs still hold.
    func run(until process: ContainerProcess) {
        for output in outputs { setNonBlocking(output.fd) }
        if let input { setNonBlocking(input.target) }
        let winch = resize != nil ? WindowChanges.start() : nil
        defer { if winch != nil { WindowChanges.stop() } }
        var open = outputs
        var sinks: [ContainerLog.Stream: Int32] = [:]
        if let stdout { sinks[.stdout] = stdout }
        if let stderr { sinks[.stderr] = stderr }
        var pending: [UInt8] = []
        var reading = input != nil
        var targetOpen = input != nil
        /// Closes an owned input pipe once nothing more will go through it.
        func closeTargetIfDone(force: Bool = false) {
            guard let input, closesInputTarget, targetOpen, force || (!reading && pending.isEmpty) else { return }
            close(input.target)
            targetOpen = false
        }
        defer { closeTargetIfDone(force: true) }
        var buffer = [UInt8](repeating: 0, count: ContainerLog.maximumChunk)
        /// The streams whose sink was closed since `dropBroken` last ran.
        var broken: Set<ContainerLog.Stream> = []
        escalation?.refresh()

        /// Reads one chunk of `output`.
        func pump(_ output: Output) -> Pumped {
            let n = systemRead(output.fd, &buffer, buffer.count)
            if n < 0 { return errno == EINTR ? .copied : errno == EAGAIN ? .empty : .done }
            if n == 0 { return .done }
            deliver(output.stream, buffer[..<n])
            return .copied
        }
        func deliver(_ stream: ContainerLog.Stream, _ bytes: ArraySlice<UInt8>) {
            log?.write(stream, bytes)
            // A stop's deadline still passes while a stalled reader holds the write.
            let waiting: (() -> Void)? = escalation.map { escalation in { escalation.tick(process) } }
            if let sink = sinks[stream], !FileIO.writeAll(sink, Array(bytes), waiting: waiting) {
                // The caller stopped reading (a closed pipe, EPIPE; or a full non-blocking one
                // that took nothing for `FileIO.stalledWriteLimit`): its output goes to the log only,
                // or, a closed one, nowhere: the command's own pipe closes (`Output.closesWithSink`).
                let closed = errno == EPIPE
                sinks[stream] = nil
                if closed { broken.insert(stream) }
            }
        }
        /// Closes the container's end of each pipe whose stream lost its sink (see `Output`). The
        /// descriptor number stays taken (/dev/null over it) until its owner closes it.
        func dropBroken() {
            guard !broken.isEmpty else { return }
            open = open.filter { output in
                guard output.closesWithSink, broken.contains(output.stream) else { return true }
                let null = systemOpen("/dev/null", O_RDONLY | O_CLOEXEC)
                if null >= 0 {
                    if dup2(null, output.fd) >= 0 { _ = fcntl(output.fd, F_SETFD, FD_CLOEXEC) }
                    close(null)
                }
                return false
            }
            broken = []
        }

        while true {
            var fds = [pollfd(fd: process.signalDescriptor, events: Int16(POLLIN), revents: 0)]
            for output in open { fds.append(pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0)) }
            let inputIndex = fds.count
            if let input, reading, pending.isEmpty { fds.append(pollfd(fd: input.source, events: Int16(POLLIN), revents: 0)) }
            let targetIndex = fds.count
            if let input, targetOpen, !pending.isEmpty { fds.append(pollfd(fd: input.target, events: Int16(POLLOUT), revents: 0)) }
            let winchIndex = fds.count
            if let winch { fds.append(pollfd(fd: winch, events: Int16(POLLIN), revents: 0)) }
            let wakeupIndex = fds.count
            if let escalation { fds.append(pollfd(fd: escalation.wakeup, events: Int16(POLLIN), revents: 0)) }

            let ready = poll(&fds, nfds_t(fds.count), escalation?.pollTimeout ?? -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents != 0 { break }
            if let escalation {
                if fds[wakeupIndex].revents != 0 { escalation.refresh() }
                escalation.escalate(process)
            }
            var index = 1
            open = open.filter { output in
                defer { index += 1 }
                guard fds[index].revents != 0 else { return true }
                return pump(output) != .done
            }
            dropBroken()
            if let input, inputIndex < fds.count, fds[inputIndex].fd == input.source, fds[inputIndex].revents != 0, pending.isEmpty, reading {
                let n = systemRead(input.source, &buffer, buffer.count)
                if n > 0 {
                    pending = Array(buffer[..<n])
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    reading = false
                }
            }
            if let input, targetIndex < fds.count, fds[targetIndex].fd == input.target, fds[targetIndex].revents != 0 {
                let n = pending.withUnsafeBytes { systemWrite(input.target, $0.baseAddress, $0.count) }
                if n > 0 {
                    pending.removeFirst(n)
                } else if n < 0, errno != EINTR, errno != EAGAIN {
                    // The process's input is gone (its terminal hung up, or it closed its
                    // stdin pipe: EPIPE): nothing more to send.
                    pending = []
                    reading = false
                }
            }
            closeTargetIfDone()
            if let winch, let resize, winchIndex < fds.count, fds[winchIndex].fd == winch, fds[winchIndex].revents != 0 {
                WindowChanges.drain(winch)
                TerminalSize.of(resize.terminal)?.apply(to: resize.master)
            }
        }
        // The process ended. A container's PID 1 takes every process of its namespace with it,
        // so its outputs hold only what was written before: read it all. An exec'd process may
        // leave children holding them: read what is there now, without waiting.
        for output in open {
            while pump(output) == .copied {}
        }
    }

    /// What one read of an output gave.
    private enum Pumped {
        case copied
        /// Nothing there now.
        case empty
        /// End of file, or a terminal whose every other end is closed.
        case done
    }

    private func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }
}

/// The write end of the self-pipe SIGWINCH is reported on, or -1. A global because a
/// signal handler is a C function: it can capture nothing.
private let windowChangePipe = Atomic<Int32>(-1)

/// SIGWINCH, turned into a readable descriptor for the relay's poll.
enum WindowChanges {
    private static let readEnd = Mutex<Int32>(-1)

    /// Installs the handler; returns the descriptor that becomes readable on each change.
    static func start() -> Int32? {
        guard let ends = SignalPipe.install(SIGWINCH, slot: windowChangePipe, handler: { _ in SignalPipe.notify(windowChangePipe) }) else {
            return nil
        }
        readEnd.withLock { $0 = ends.read }
        return ends.read
    }

    static func drain(_ fd: Int32) {
        var bytes = [UInt8](repeating: 0, count: 64)
        while systemRead(fd, &bytes, bytes.count) > 0 {}
    }

    /// Restores SIGWINCH's default (ignore) and closes the pipe.
    static func stop() {
        SignalPipe.uninstall(SIGWINCH, slot: windowChangePipe)
        readEnd.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }
}
