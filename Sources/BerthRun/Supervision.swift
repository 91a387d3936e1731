#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNetwork
import BerthNamespace

/// What a supervisor does for one container until it stops for good: start its command,
/// relay its stdio (to the caller and its log), forward signals to it, record its end, and
/// start it again while its restart policy says so and no stop was asked for.
final class Supervision {
    private let manager: NetworkManager
    private let options: RunOptions
    /// The caller's stdio in the foreground; nil for a detached supervisor.
    private let attachment: Attachment?
    private var record: ContainerRecord
    /// Whether the command ran at least once (a failure before that is the caller's to undo;
    /// one after it, this supervision's: see `abandon`).
    private(set) var hasStarted = false
    /// Told what the first start changed for the host (`RunningContainer.hostWarnings`),
    /// before `started`; a restart's go to the container's log.
    private let warned: ([HostWarning]) -> Void
    /// The run under way, until its command is reaped.
    private var unreaped: RunningContainer?
    /// How the command last ended, once it has.
    private var lastExit: ContainerExit?
    /// The state's cgroup parent, as the last run read it (`RunningContainer.cgroupParent`).
    private var cgroupParent: String?

    init(record: ContainerRecord, options: RunOptions, attachment: Attachment?, manager: NetworkManager,
         warned: @escaping ([HostWarning]) -> Void = { _ in }) {
        self.record = record
        self.options = options
        self.attachment = attachment
        self.manager = manager
        self.warned = warned
    }

    /// Runs the container until it stops for good and returns its last exit. `started` is
    /// called once, when the command first runs. A failure to start it the first time is
    /// thrown; a failed restart ends the supervision (the error goes to the container's log).
    /// Any other failure once the command ran is `abandon`ed: the container is left stopped
    /// and released, never running or restarting without a supervisor.
    func run(started: (RunningContainer) -> Void) throws(BerthError) -> ContainerExit {
        let log = try ContainerLogWriter(state: manager.store.directory, id: record.id)
        do {
            return try supervise(log: log, started: started)
        } catch {
            guard hasStarted else { throw error }
            return try abandon(after: error, log: log)
        }
    }

    /// What an error after the command first ran leaves to do: kills and reaps the command if
    /// it still runs, records its end (the last exit seen, else 255: an exit nobody saw, as
    /// Docker reports it; `--rm`: removed), releases the network and gives the container up,
    /// each step best effort. The error goes to the container's log. Returns the command's
    /// last exit when there is one (the foreground exits with it, the error written to the
    /// caller's stderr); throws the error otherwise.
    private func abandon(after error: BerthError, log: ContainerLogWriter) throws(BerthError) -> ContainerExit {
        if let container = unreaped {
            _ = try? container.process.signal(SIGKILL)
            // Its exit, if it can still be had; an earlier run's is not this one's.
            lastExit = try? container.reap()
            unreaped = nil
        }
        let line = Array("berth: container \(record.name): \(error) (its supervision ended here)\n".utf8)
        log.write(.stderr, line[...])
        // Thrown, the caller says it; returned as an exit, the caller's stderr is told here.
        if lastExit != nil, let attachment { FileIO.writeAll(attachment.stderr, line) }
        let releaseFailed = { (error: BerthError) in
            log.write(.stderr, Array("berth: container \(self.record.name): \(error) (left for garbage collection)\n".utf8)[...])
        }
        do {
            _ = try Container.finish(record, exit: lastExit ?? .exited(255), restart: .no, mayRestart: false, manager: manager,
                                     cgroupParent: cgroupParent, releaseFailed: releaseFailed)
        } catch {
            // The state could not record it: at least nothing stays held.
            if (try? Container.unsupervise(record, manager: manager, releaseFailed: releaseFailed)) == nil {
                Container.release(record, manager: manager, cgroupParent: cgroupParent, failed: releaseFailed)
            }
        }
        guard let lastExit else { throw error }
        return lastExit
    }

    private func supervise(log: ContainerLogWriter, started: (RunningContainer) -> Void) throws(BerthError) -> ContainerExit {
        // Raw: every key goes to the container's terminal, ^C included, and nothing echoes twice.
        let raw = options.interactive && options.process.terminal ? attachment.flatMap { RawTerminal($0.stdin) } : nil
        defer { raw?.restore() }
        // A caller that stops reading (`berth run … | head -1`), or a container that closed
        // its stdin pipe, must not kill the supervisor: a write error for the relay.
        let pipeSignal = PipeSignalBlock()
        defer { pipeSignal.restore() }
        // Caught from here on: a signal while the container is being set up waits for its
        // command instead of killing this process half-way.
        SignalForwarding.hold()
        defer { SignalForwarding.stop() }
        // From here too: a `stop` that records its SIGKILL's deadline tells this process.
        let store = try manager.containerStore()
        let id = record.id
        let escalation = StopEscalation {
            let row = try? store.read { tx throws(BerthError) in try tx.container(id: id) }
            return row.flatMap { $0.stopRequested ? $0.killAt : nil }
        }
        defer { escalation?.stop() }
        var delay: Duration?
        let releaseFailed = { (error: BerthError) in
            log.write(.stderr, Array("berth: container \(self.record.name): \(error) (left for garbage collection)\n".utf8)[...])
        }
        while true {
            let io = try SupervisedIO(options: options, attachment: attachment, log: log)
            defer { io.close() }
            let container: RunningContainer
            do {
                container = try Container.launch(record, options: options, io: io, manager: manager)
            } catch {
                guard hasStarted else {
                    // A SIGINT or SIGTERM cut the set-up short (it killed the held command):
                    // said so, rather than as the step that then failed.
                    guard SignalForwarding.isEndRequested else { throw error }
                    throw BerthError(.conflict, "container \(record.name) was not started: its supervising process was told to end (SIGINT or SIGTERM) while it was being set up",
                                     object: .container(record.name), operation: .run, cause: error)
                }
                // A stop that came while the restart was set up is obeyed, not reported; so is
                // a SIGINT or SIGTERM to this process, which cut the set-up short.
                if !(try isStopRequested()), !SignalForwarding.isEndRequested {
                    log.write(.stderr, Array("berth: cannot restart container \(record.name): \(error)\n".utf8)[...])
                }
                try Container.unsupervise(record, manager: manager, releaseFailed: releaseFailed)
                return lastExit ?? .exited(0)
            }
            unreaped = container
            cgroupParent = container.cgroupParent
            if !hasStarted {
                if !container.hostWarnings.isEmpty { warned(container.hostWarnings) }
                hasStarted = true
                started(container)
            } else {
                for warning in container.hostWarnings {
                    log.write(.stderr, Array("berth: warning: container \(record.name): \(warning)\n".utf8)[...])
                }
            }
            SignalForwarding.forward(to: container.process)
            let began = MonotonicClock.now
            io.runRelay(until: container.process, escalation: escalation)
            let exit = try container.reap()
            unreaped = nil
            lastExit = exit
            SignalForwarding.pause()
            try RunFailPoint.check("supervise.finish")
            // A supervisor told to end (SIGTERM, ^C on a terminal without -t) passed it on; its
            // container does not come back. So too when the command died of a signal passed on.
            // Under --init the command's death by signal N comes as the init's exit 128+N.
            let told = SignalForwarding.endsRun(exit, throughInit: options.process.initProcess)
            guard try Container.finish(record, exit: exit, restart: options.restart, mayRestart: !told, manager: manager,
                                       cgroupParent: container.cgroupParent, releaseFailed: releaseFailed) else {
                return exit
            }
            let wait = RestartPolicy.delay(previous: delay, lastRun: MonotonicClock.now - began)
            delay = wait
            // The next run begins once the wait is over and no end was asked for: one asked for
            // from here on is the next run's.
            guard try waitToRestart(wait), !SignalForwarding.beginRun() else {
                try Container.unsupervise(record, manager: manager, releaseFailed: releaseFailed)
                return exit
            }
        }
    }

    /// Sleeps `delay` in short steps; false as soon as a stop is asked for (in the state, or
    /// by a SIGINT or SIGTERM to this process).
    private func waitToRestart(_ delay: Duration) throws(BerthError) -> Bool {
        let deadline = MonotonicClock.now + delay
        let store = try manager.containerStore()
        while true {
            if SignalForwarding.isEndRequested { return false }
            guard let row = try store.read({ tx throws(BerthError) in try tx.container(id: record.id) }), !row.stopRequested else { return false }
            record = row
            let left = deadline - MonotonicClock.now
            if left <= .zero { return true }
            Sleep.for(min(left, .milliseconds(50)))
        }
    }

    /// Whether a stop was asked for (or the container is gone).
    private func isStopRequested() throws(BerthError) -> Bool {
        let row = try manager.containerStore().read { tx throws(BerthError) in try tx.container(id: record.id) }
        return row?.stopRequested ?? true
    }
}

/// The caller's terminal in raw mode while a container's terminal is attached to it, as
/// `docker run -it` sets it: no echo, no line editing, no signals from keys — ^C is a byte
/// for the container's terminal, whose own line discipline turns it into SIGINT there.
final class RawTerminal {
    private let fd: Int32
    private let saved: termios
    private var restored = false

    /// Nil when `fd` is no terminal.
    init?(_ fd: Int32) {
        var saved = termios()
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        self.fd = fd
        self.saved = saved
    }

    /// Puts the terminal back as it was; idempotent.
    func restore() {
        guard !restored else { return }
        restored = true
        var saved = saved
        _ = tcsetattr(fd, TCSANOW, &saved)
    }

    deinit { restore() }
}
