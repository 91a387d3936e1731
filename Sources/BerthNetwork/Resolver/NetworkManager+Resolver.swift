#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// The resolver's lifecycle (docs/dns.md): one `berth-dns` per state directory, started by
/// the first attach to a network with DNS on, told to reload (SIGHUP) after every change
/// of the names it serves, restarted by the next attach or `reconcile` when it died, and
/// stopped by `gc` when no network has DNS on. It exits by itself when a reload leaves it
/// nothing to serve (`--exit-when-empty`). Networks without DNS never touch any of this.
extension NetworkManager {
    /// What `ensureResolver` found: the resolver that runs, and whether this call started it
    /// (its caller then stops it if its transaction does not commit).
    struct EnsuredResolver {
        var process: ResolverProcess
        var started: Bool
    }

    /// Makes sure the resolver runs, inside the caller's write transaction (so two attaches
    /// never start two), and returns it. Called only for networks with DNS on. A resolver
    /// started here read the state before this transaction commits: the caller sends it
    /// `reloadResolver` after the commit, and stops it (`stopResolver`) when the
    /// transaction is rolled back, so that none runs without a record.
    ///
    /// One running without a record — started by an attach or a reconcile that was killed
    /// before its COMMIT — holds the state's resolver lock (`ResolverLock`): it is adopted
    /// (recorded, and reloaded by the caller) rather than a second one started beside it.
    /// The lock is looked at only when the recorded resolver does not run.
    func ensureResolver(_ tx: StateTransaction) throws(BerthError) -> EnsuredResolver {
        if let recorded = try tx.resolver(), host.kernel.isRunning(recorded) { return EnsuredResolver(process: recorded, started: false) }
        if let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory) {
            try tx.setResolver(unrecorded)
            Trace.mark("resolver adopted")
            return EnsuredResolver(process: unrecorded, started: false)
        }
        let process = try host.kernel.startResolver(try resolverLaunch(), in: host.socketNamespace)
        try tx.setResolver(process)
        Trace.mark("resolver started")
        return EnsuredResolver(process: process, started: true)
    }

    /// Tells the resolver to reload its names (SIGHUP): after a commit that changed them.
    /// A resolver that is gone is left to the next attach or `reconcile`.
    func reloadResolver(_ process: ResolverProcess?) {
        guard let process else { return }
        _ = host.kernel.signal(process, SIGHUP)
    }

    /// Stops `process` (SIGTERM; it closes every socket) and waits for it to end, 2 s at
    /// most, so that the next start does not find it holding the lock and the gateways.
    /// Returns whether it was running.
    @discardableResult
    func stopResolver(_ process: ResolverProcess) -> Bool {
        guard host.kernel.signal(process, SIGTERM) else { return false }
        let deadline = MonotonicClock.now + .seconds(2)
        while host.kernel.isRunning(process), MonotonicClock.now < deadline { Sleep.for(.milliseconds(5)) }
        return true
    }

    /// The recorded resolver, for a detach: nil unless the endpoint's names are served.
    func resolverToReload(after endpoint: EndpointRecord, tx: StateTransaction) throws(BerthError) -> ResolverProcess? {
        guard endpoint.hasNames, try tx.networkHasDNS(endpoint.network) else { return nil }
        return try tx.resolver()
    }

    /// What the resolver's state is: running, running without a record, stale, missing,
    /// or not needed.
    public func resolverStatus() throws(BerthError) -> ResolverStatus {
        try store.read { tx throws(BerthError) -> ResolverStatus in
            let recorded = try tx.resolver()
            if let recorded, host.kernel.isRunning(recorded) { return .running(recorded) }
            if let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory) { return .unrecorded(unrecorded) }
            if let recorded { return .stale(recorded) }
            return try tx.anyDNSEndpoint() ? .missing : .notNeeded
        }
    }

    /// Starts the resolver again when a network with DNS on has endpoints and it does not
    /// run (killed, crashed), records one that runs without a record, and drops the record
    /// of a dead one nothing needs; returns the one started or recorded, or nil. The
    /// resolver that runs afterwards is sent SIGHUP once this commits.
    @discardableResult
    public func restartResolverIfNeeded() throws(BerthError) -> ResolverProcess? {
        var started: ResolverProcess?
        do {
            let revived = try store.write { tx throws(BerthError) -> RevivedResolver in
                let revived = try reviveResolver(tx)
                if revived.started { started = revived.running }
                return revived
            }
            reloadResolver(revived.running)
            return revived.changed ? revived.running : nil
        } catch {
            // Not committed: the one started here would run without a record.
            if let started { stopResolver(started) }
            throw error
        }
    }

    /// What `reviveResolver` leaves: the resolver that runs (to reload after the commit),
    /// whether it was started, and whether the record changed for it (started or adopted).
    struct RevivedResolver {
        var running: ResolverProcess?
        var started = false
        var changed = false
    }

    /// `restartResolverIfNeeded` inside `tx` (reconcile runs it in its own transaction).
    /// The caller sends SIGHUP to `running` after its commit — always, so that a reload
    /// lost to a crash between an attach's COMMIT and its signal is made up for — and
    /// stops a `started` one when its transaction fails.
    func reviveResolver(_ tx: StateTransaction) throws(BerthError) -> RevivedResolver {
        let recorded = try tx.resolver()
        if let recorded, host.kernel.isRunning(recorded) { return RevivedResolver(running: recorded) }
        if let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory) {
            try tx.setResolver(unrecorded)
            return RevivedResolver(running: unrecorded, changed: true)
        }
        if try tx.anyDNSEndpoint() {
            let ensured = try ensureResolver(tx)
            return RevivedResolver(running: ensured.process, started: ensured.started, changed: true)
        }
        if recorded != nil { try tx.clearResolver() }
        return RevivedResolver()
    }

    /// For `gc`: when no network has DNS on, stops the resolver (SIGTERM) and forgets it —
    /// the recorded one, and one running without a record (`ResolverLock`) — and returns
    /// the one stopped; a dead one's record is dropped as well. When a network has DNS on,
    /// a resolver running without a record (its start interrupted) is recorded, and the
    /// one that runs is returned as `reload` for a SIGHUP after the commit.
    func settleResolver() throws(BerthError) -> (stopped: ResolverProcess?, reload: ResolverProcess?) {
        try store.write { tx throws(BerthError) -> (stopped: ResolverProcess?, reload: ResolverProcess?) in
            let recorded = try tx.resolver()
            if try tx.anyNetworkHasDNS() {
                if let recorded, host.kernel.isRunning(recorded) { return (nil, recorded) }
                guard let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory) else { return (nil, nil) }
                try tx.setResolver(unrecorded)
                return (nil, unrecorded)
            }
            if recorded != nil { try tx.clearResolver() }
            var stopped = recorded.flatMap { stopResolver($0) ? $0 : nil }
            if let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory), unrecorded != stopped, stopResolver(unrecorded) {
                stopped = stopped ?? unrecorded
            }
            return (stopped, nil)
        }
    }

    /// Stops the resolver when no network has DNS on (SIGTERM; it closes every socket) and
    /// forgets it — one running without a record too; returns the one stopped. A dead one's
    /// record is dropped as well.
    @discardableResult
    public func stopResolverIfUnneeded() throws(BerthError) -> ResolverProcess? {
        let settled = try settleResolver()
        reloadResolver(settled.reload)
        return settled.stopped
    }

    /// The executable to start: `resolverExecutable`, else `BERTH_DNS`, else `berth-dns`
    /// beside the running executable (berth, berth-cni and berth-oci-hook are installed
    /// together with it).
    func resolverLaunch() throws(BerthError) -> ResolverLaunch {
        var executable: String
        if let resolverExecutable {
            executable = resolverExecutable
        } else if let value = getenv(ResolverLaunch.executableEnvironmentVariable), value.pointee != 0 {
            executable = String(cString: value)
        } else {
            // The real path even when this process runs a read-only view of its binary.
            guard let path = SealedExecutable.path() else {
                throw BerthError(.system, "cannot find the running executable to locate \(ResolverLaunch.executableName) beside it",
                                 hint: "name the resolver's executable (NetworkManager's resolverExecutable, or \(ResolverLaunch.executableEnvironmentVariable))")
            }
            let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            executable = directory + "/" + ResolverLaunch.executableName
        }
        return ResolverLaunch(executable: executable, stateDirectory: store.directory,
                              logPath: store.directory + "/" + ResolverLaunch.logName)
    }
}

/// What `check` says of the resolver.
public enum ResolverStatus: Sendable, Hashable {
    /// It runs, as recorded.
    case running(ResolverProcess)
    /// Not recorded as running, but a resolver serves this state all the same (it holds
    /// the state's resolver lock): its starter was killed before its COMMIT. `reconcile`,
    /// `gc` and the next attach record it.
    case unrecorded(ResolverProcess)
    /// Recorded, but that process is gone (killed, crashed, or its pid now someone else's).
    case stale(ResolverProcess)
    /// A network with DNS on has endpoints, and no resolver was recorded.
    case missing
    /// No network needs one, and none is recorded.
    case notNeeded
}
