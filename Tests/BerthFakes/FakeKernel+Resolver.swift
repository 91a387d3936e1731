import BerthCore
import BerthNamespace
import BerthNetwork

/// The resolver process, played: `startResolver` makes a fake process (no program runs),
/// `signal` records what was sent, and a test kills it with `killResolver`. Each process
/// serves the state directory it was started for and holds that directory's lock
/// (`ResolverLock`): a second start for the same directory fails, as `berth-dns` does, and
/// `resolverHolding` finds it without the state's record.
public final class FakeResolverProcesses: @unchecked Sendable {
    /// Fake processes that run, by pid.
    public var running: Set<Int32> = []
    /// Every start, as the launch asked for it.
    public private(set) var launches: [ResolverLaunch] = []
    /// Every signal delivered, as "SIGNAL pid".
    public var signals: [String] = []
    /// Makes the next start fail (the executable missing, say).
    public var failsToStart = false
    /// The state directory each process serves, by pid.
    public private(set) var stateDirectories: [Int32: String] = [:]
    var nextPid: Int32 = 4000

    func start(_ launch: ResolverLaunch) throws(BerthError) -> ResolverProcess {
        if failsToStart {
            throw BerthError(.system, "cannot start the resolver \(launch.executable): No such file or directory")
        }
        if let holder = holding(launch.stateDirectory) {
            throw BerthError(.system, "the resolver did not report ready: berth-dns: another resolver serves the state in \(launch.stateDirectory) (\(holder))")
        }
        launches.append(launch)
        return spawn(stateDirectory: launch.stateDirectory)
    }

    /// A resolver that runs for `stateDirectory` while the state has no record of it, as
    /// one whose starter was killed before its COMMIT does. Not counted in `launches`.
    @discardableResult
    public func startUnrecorded(stateDirectory: String) -> ResolverProcess {
        spawn(stateDirectory: stateDirectory)
    }

    /// The running process that serves `stateDirectory`.
    public func holding(_ stateDirectory: String) -> ResolverProcess? {
        guard let pid = running.filter({ stateDirectories[$0] == stateDirectory }).min() else { return nil }
        return ResolverProcess(pid: pid, startTime: UInt64(pid) * 7)
    }

    private func spawn(stateDirectory: String) -> ResolverProcess {
        nextPid += 1
        running.insert(nextPid)
        stateDirectories[nextPid] = stateDirectory
        return ResolverProcess(pid: nextPid, startTime: UInt64(nextPid) * 7)
    }
}

extension FakeKernel {
    public func isRunning(_ process: ResolverProcess) -> Bool {
        resolvers.running.contains(process.pid) && process.startTime == UInt64(process.pid) * 7
    }

    public func signal(_ process: ResolverProcess, _ signal: Int32) -> Bool {
        guard isRunning(process) else { return false }
        resolvers.signals.append("\(signal) \(process.pid)")
        if signal == 15 || signal == 9 { resolvers.running.remove(process.pid) }
        return true
    }

    public func startResolver(_ launch: ResolverLaunch, in namespace: NetworkNamespace?) throws(BerthError) -> ResolverProcess {
        try resolvers.start(launch)
    }

    public func resolverHolding(stateDirectory: String) -> ResolverProcess? {
        resolvers.holding(stateDirectory)
    }

    /// Kills the fake resolver, as `kill -9` would.
    public func killResolver(_ pid: Int32) {
        resolvers.running.remove(pid)
    }
}
