#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore

/// The resolver's lifecycle (docs/dns.md): one `berth-dns` per state directory, started by
/// the first attach to a network with DNS on, told to reload (SIGHUP) after every change
/// of the names it serves, restarted by the next attach or `reconcile` when it died, and
/// stopped by `gc` when no network has DNS on. It exits by itself when a reload leaves it
/// nothing to serve (`--exit-when-empty`). Networks without DNS never touch any of this.
extension NetworkManager {
    /// Makes sure the resolver runs, inside the caller's write transaction (so two attaches
    /// never start two), and returns it. Called only for networks with DNS on. A resolver
    /// started here read the state before this transaction commits: the caller sends it
    /// `reloadResolver` after the commit.
    func ensureResolver(_ tx: StateTransaction) throws(BerthError) -> ResolverProcess {
        if let recorded = try tx.resolver(), host.kernel.isRunning(recorded) { return recorded }
        let process = try host.kernel.startResolver(try resolverLaunch(), in: host.socketNamespace)
        try tx.setResolver(process)
        Trace.mark("resolver started")
        return process
    }

    /// Tells the resolver to reload its names (SIGHUP): after a commit that changed them.
    /// A resolver that is gone is left to the next attach or `reconcile`.
    func reloadResolver(_ process: ResolverProcess?) {
        guard let process else { return }
        _ = host.kernel.signal(process, SIGHUP)
    }

    /// The recorded resolver, for a detach: nil unless the endpoint's names are served.
    func resolverToReload(after endpoint: EndpointRecord, tx: StateTransaction) throws(BerthError) -> ResolverProcess? {
        guard endpoint.hasNames, try tx.networkHasDNS(endpoint.network) else { return nil }
        return try tx.resolver()
    }

    /// What the resolver's state is: running, stale, missing, or not needed.
    public func resolverStatus() throws(BerthError) -> ResolverStatus {
        try store.read { tx throws(BerthError) -> ResolverStatus in
            let recorded = try tx.resolver()
            if let recorded, host.kernel.isRunning(recorded) { return .running(recorded) }
            if let recorded { return .stale(recorded) }
            return try tx.anyDNSEndpoint() ? .missing : .notNeeded
        }
    }

    /// Starts the resolver again when a network with DNS on has endpoints and it does not
    /// run (killed, crashed), and drops the record of a dead one nothing needs; returns the
    /// one started, or nil.
    @discardableResult
    public func restartResolverIfNeeded() throws(BerthError) -> ResolverProcess? {
        try store.write { tx throws(BerthError) -> ResolverProcess? in try reviveResolver(tx) }
    }

    /// `restartResolverIfNeeded` inside `tx` (reconcile runs it in its own transaction).
    @discardableResult
    func reviveResolver(_ tx: StateTransaction) throws(BerthError) -> ResolverProcess? {
        let recorded = try tx.resolver()
        if let recorded, host.kernel.isRunning(recorded) { return nil }
        if try tx.anyDNSEndpoint() { return try ensureResolver(tx) }
        if recorded != nil { try tx.clearResolver() }
        return nil
    }

    /// Stops the resolver when no network has DNS on (SIGTERM; it closes every socket) and
    /// forgets it; returns the one stopped. A dead one's record is dropped as well.
    @discardableResult
    public func stopResolverIfUnneeded() throws(BerthError) -> ResolverProcess? {
        try store.write { tx throws(BerthError) -> ResolverProcess? in
            guard try !tx.anyNetworkHasDNS(), let recorded = try tx.resolver() else { return nil }
            try tx.clearResolver()
            return host.kernel.signal(recorded, SIGTERM) ? recorded : nil
        }
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
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard count > 0 else {
                throw BerthError(.system, "cannot find the running executable to locate \(ResolverLaunch.executableName) beside it",
                                 hint: "name the resolver's executable (NetworkManager's resolverExecutable, or \(ResolverLaunch.executableEnvironmentVariable))")
            }
            let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
    /// Recorded, but that process is gone (killed, crashed, or its pid now someone else's).
    case stale(ResolverProcess)
    /// A network with DNS on has endpoints, and no resolver was recorded.
    case missing
    /// No network needs one, and none is recorded.
    case notNeeded
}
