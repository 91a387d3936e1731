#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthNetwork
import Synchronization

/// A container this process started with `Container.run` and supervises: wait for it (or
/// stop it) and its endpoint, address and ports are released and its exit recorded.
///
/// Uses the manager it was started with; like `NetworkManager`, it is not meant for
/// concurrent calls from several threads of one process, except `signal`.
public final class RunningContainer: Sendable {
    /// The container as recorded when its command started (status `.running`).
    public let record: ContainerRecord
    /// Its endpoint on a bridge network, nil with `none` or `host`.
    public let endpoint: EndpointRecord?
    /// The command's process. With a terminal (`ContainerSpec.terminal`), its `terminal` is
    /// the master, which the caller closes.
    public let process: ContainerProcess
    /// What starting it changed for the host beyond Berth's own objects — the default
    /// network made on first use: forwarding turned on, another firewall's forward chain
    /// that drops its traffic — for the caller to tell its user (`HostWarning`). Empty when
    /// the network existed.
    public let hostWarnings: [HostWarning]
    private let manager: NetworkManager
    /// The state's cgroup parent, read when the container started: `finish` removes the
    /// cgroup with it even when the state cannot be read or written then.
    let cgroupParent: String?
    /// The exit, once reaped and recorded.
    private let finished = Mutex<ContainerExit?>(nil)

    init(record: ContainerRecord, endpoint: EndpointRecord?, process: ContainerProcess, manager: NetworkManager, cgroupParent: String? = nil,
         hostWarnings: [HostWarning] = []) {
        self.record = record
        self.cgroupParent = cgroupParent
        self.endpoint = endpoint
        self.process = process
        self.hostWarnings = hostWarnings
        self.manager = manager
    }

    /// The container's name.
    public var name: String { record.name }
    /// The command's pid, as the caller's pid namespace sees it.
    public var pid: Int32 { process.pid }

    /// Sends `signal` to the command (PID 1 of the container: see `ContainerProcess`).
    public func signal(_ signal: Int32) throws(BerthError) {
        try process.signal(signal)
    }

    /// Blocks until the command ends, then records the exit and releases the endpoint: the
    /// container stays, exited, until `Container.remove` (or goes now if its options say
    /// `autoRemove`). Later calls return the same exit. Blocks a thread: not for a Swift
    /// concurrency one.
    ///
    /// If recording fails the error is thrown; the exit is kept and the next call retries
    /// (`Container.removeOrphans` and garbage collection also clean up what is left). A
    /// release that fails once the exit is recorded is left to garbage collection.
    public func wait() throws(BerthError) -> ContainerExit {
        try finished.withLock { (finished) throws(BerthError) -> ContainerExit in
            if let finished { return finished }
            let exit = try process.wait()
            _ = try Container.finish(record, exit: exit, restart: .no, manager: manager, cgroupParent: cgroupParent)
            finished = exit
            return exit
        }
    }

    /// The command's exit, for a supervisor that records it itself (restart policy).
    func reap() throws(BerthError) -> ContainerExit {
        try process.wait()
    }

    /// The container's stop signal (SIGTERM by default), then SIGKILL if the command still
    /// runs after `timeout` (nil: the container's stop timeout; negative: no SIGKILL, see
    /// `Container.stop`); then `wait()`.
    @discardableResult
    public func stop(timeout: Duration? = nil) throws(BerthError) -> ContainerExit {
        guard let identity = record.process else { return try wait() }
        do {
            try process.signal(record.options?.effectiveStopSignal ?? SIGTERM)
            // An exited child stays a zombie until `wait` reaps it: `isAlive` is false then.
            if !Container.waitForExit(identity, timeout: timeout ?? Container.stopTimeout(of: record)) { try process.signal(SIGKILL) }
        } catch where error.code == .notFound {
            // It ended on its own meanwhile.
        }
        return try wait()
    }
}
