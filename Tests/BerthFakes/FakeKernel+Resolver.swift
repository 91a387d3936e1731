import BerthCore
import BerthNamespace
import BerthNetwork

/// The resolver process, played: `startResolver` makes a fake process (no program runs),
/// `signal` records what was sent, and a test kills it with `killResolver`.
public final class FakeResolverProcesses: @unchecked Sendable {
    /// Fake processes that run, by pid.
    public var running: Set<Int32> = []
    /// Every start, as the launch asked for it.
    public private(set) var launches: [ResolverLaunch] = []
    /// Every signal delivered, as "SIGNAL pid".
    public var signals: [String] = []
    /// Makes the next start fail (the executable missing, say).
    public var failsToStart = false
    var nextPid: Int32 = 4000

    func start(_ launch: ResolverLaunch) throws(BerthError) -> ResolverProcess {
        if failsToStart {
            throw BerthError(.system, "cannot start the resolver \(launch.executable): No such file or directory")
        }
        launches.append(launch)
        nextPid += 1
        running.insert(nextPid)
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

    /// Kills the fake resolver, as `kill -9` would.
    public func killResolver(_ pid: Int32) {
        resolvers.running.remove(pid)
    }
}
