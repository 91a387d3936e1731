#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// The resolver process's server: one thread, one epoll loop over UDP and TCP sockets
/// bound to each network's gateway addresses, the upstream sockets of forwarded queries,
/// a signalfd (SIGHUP reloads, SIGTERM and SIGINT stop, SIGUSR1 prints statistics), the
/// table source's change descriptor and, for upstreams from resolv.conf, its watch.
///
/// Memory is bounded by configuration: one 64 KiB receive buffer shared by every socket,
/// at most `maxTCPConnections` connections each holding at most one frame in and a few
/// out, and at most `maxPendingForwards` queries upstream (`maxPendingForwardsPerSource`
/// from one address, `maxPendingForwardsPerNetwork` from one network), each holding its query.
public final class DNSServer {
    let configuration: DNSServerConfiguration
    let source: any DNSTableSource
    var resolver: DNSResolver
    /// Where the next answer of each name with several addresses starts: a new one with
    /// each table, whose names may have other addresses.
    var answerRotation = DNSAnswerRotation()
    var defaultUpstreams: [DNSUpstream]
    /// What the server has done so far.
    public internal(set) var statistics = DNSServerStatistics()

    let loop: EventLoop
    var signals: SignalDescriptor?
    /// What each registered descriptor is, and the token its events carry.
    var roles: [Int32: Registration] = [:]
    var listeners: [IPAddress: Listener] = [:]
    var clients: [Int32: TCPClient] = [:]
    var forwards: [Int32: Forward] = [:]
    /// Forwards waiting upstream per source address (`maxPendingForwardsPerSource`).
    var forwardsBySource: [IPAddress: Int] = [:]
    /// Forwards waiting upstream per network name (`maxPendingForwardsPerNetwork`).
    var forwardsByNetwork: [String: Int] = [:]
    /// The earliest deadline of any client or forward; the loop scans for expired ones
    /// only when it has passed.
    var nextDeadline = Int64.max
    /// After a failed reload: when it is tried again, and the wait before that one (100 ms,
    /// doubling up to 5 s), until a reload succeeds.
    var reloadRetry: (at: Int64, delay: Int64)?
    /// What the last failed reload said: a retry failing the same way is not logged again
    /// (a table file with an error would otherwise log every 5 s until it is fixed).
    var lastReloadFailure: String?
    var nextSerial: UInt64 = 0
    /// TCP listeners not watched for a moment because `accept` ran out of descriptors
    /// (`pauseAccepting`), by descriptor with their token; and when they are watched again.
    var pausedListeners: [Int32: UInt64] = [:]
    var acceptResumeAt: Int64?
    var acceptPauseLogged = false
    /// The addresses last written to `configuration.unboundReportPath`; nil before the first.
    var reportedUnbound: [IPAddress]?
    var running = false
    /// Set while the reload of an exit the source called off runs (`exitIfEmpty`).
    var cancellingExit = false
    /// resolv.conf's watch when the upstreams come from it: a host whose resolver list
    /// changes (DHCP, another network on a laptop) is followed without a SIGHUP.
    var resolvConfWatch: FileWatch?
    /// The paths `resolvConfWatch` watches: resolv.conf and the file it names now.
    var resolvConfWatchedPaths: [String] = []
    /// The one receive buffer: the loop handles one datagram or read at a time.
    var buffer = [UInt8](repeating: 0, count: 65536)

    enum Role {
        case signals
        case tableChange
        case resolvConfChange
        case udp(IPAddress)
        case tcpListener(IPAddress)
        case client
        case upstream
    }

    struct Registration {
        let role: Role
        let token: UInt64
    }

    struct Listener {
        let udp: Int32
        let tcp: Int32
    }

    /// Loads the table and the upstreams; binds nothing yet (see `run`).
    public init(configuration: DNSServerConfiguration, source: any DNSTableSource) throws(BerthError) {
        self.configuration = configuration
        self.source = source
        loop = try EventLoop()
        defaultUpstreams = []
        resolver = try DNSResolver(table: DNSTable(), ttl: configuration.ttl, payloadSize: configuration.udpPayloadSize)
        let (resolver, upstreams) = try loadState(serial: 1, reloading: false)
        self.resolver = resolver
        defaultUpstreams = upstreams
    }

    /// Blocks the signals `run` takes (SIGHUP, SIGTERM, SIGINT, SIGUSR1) for the calling
    /// thread, so that one arriving before `run` opens its signalfd waits for it instead of
    /// killing the process (SIGHUP's default action): call it first thing in the resolver's
    /// main thread, before forking (the child keeps the mask) or announcing a pid.
    public static func blockSignals() throws(BerthError) {
        try SignalDescriptor.block()
    }

    /// Binds every listen address and serves until SIGTERM or SIGINT (or, with
    /// `exitWhenEmpty`, until a reload leaves no network and the source confirms the exit:
    /// `DNSTableSource.confirmExit`). `ready` is called once the
    /// sockets are bound: every one, or, when some address cannot be bound, every other
    /// (that one is reported and retried as a failed reload is; throws when none could). Signals are taken through a signalfd, so call this from the main
    /// thread before starting any other thread.
    public func run(ready: () -> Void = {}) throws(BerthError) {
        let signals = try SignalDescriptor()
        self.signals = signals
        try register(signals.descriptor, as: .signals, closeOnFailure: false)
        if let change = source.changeDescriptor {
            try register(change, as: .tableChange, closeOnFailure: false)
        }
        watchResolvConf()
        do {
            try reconcileListeners()
        } catch {
            // An address another process holds (a leftover server, a dnsmasq on
            // 0.0.0.0:53) costs only its own network, as at a reload: the others are served
            // and it is retried. Failing the start would fail every DNS attach on the host.
            guard !listeners.isEmpty else { throw error }
            reloadFailed(reason: "start-up", keeping: "serving on \(describeListeners())", error)
        }
        DNSLog.write("serving \(resolver.zones.count) network(s) on \(describeListeners()), upstreams \(describeUpstreams())")
        ready()
        let resident = ResidentMemory.trim()
        DNSLog.write("resident set \(resident.before) KiB after start-up, \(resident.after) KiB after trimming")
        running = true
        exitIfEmpty()
        while running {
            let now = MonotonicClock.milliseconds()
            let timeout = nextDeadline == .max ? -1 : Int32(clamping: max(0, nextDeadline - now))
            for event in loop.wait(timeout: timeout) {
                dispatch(event)
            }
            if MonotonicClock.milliseconds() >= nextDeadline { expireDeadlines() }
        }
        shutDown()
    }

    private func dispatch(_ event: EventLoop.Ready) {
        let fd = Int32(truncatingIfNeeded: event.token & 0xFFFF_FFFF)
        // A descriptor closed by an earlier event of the same batch may already be reused.
        guard let registration = roles[fd], registration.token == event.token else { return }
        switch registration.role {
        case .signals: handleSignals()
        case .tableChange:
            if source.drainChanges() { reload(reason: "table changed") }
        case .resolvConfChange:
            if resolvConfWatch?.drain() == true { reload(reason: "resolv.conf changed") }
        case .udp(let address): readDatagrams(on: fd, address: address)
        case .tcpListener(let address): acceptConnections(on: fd, address: address)
        case .client: serviceClient(fd, event)
        case .upstream: serviceUpstream(fd, event)
        }
    }

    private func handleSignals() {
        guard let signals else { return }
        for signal in signals.drain() {
            switch signal {
            case .reload: reload(reason: "SIGHUP")
            case .terminate: running = false
            case .statistics: DNSLog.write("statistics: \(statistics)")
            case .other: break
            }
        }
    }

    /// Reads the table and upstreams again and rebinds. On failure it keeps what it had and
    /// tries again later (100 ms, doubling up to 5 s), without waiting for another signal:
    /// a stopped container's name must stop resolving, and a new one start, even when the
    /// reload that said so met a busy database or a half-written file.
    func reload(reason: String) {
        // First: a link repointed since (what set off this reload, often) is watched at its
        // new target before that is read, so no rewrite after the read goes unseen.
        watchResolvConf()
        do {
            let (resolver, upstreams) = try loadState(serial: self.resolver.serial &+ 1, reloading: true)
            self.resolver = resolver
            answerRotation = DNSAnswerRotation()
            defaultUpstreams = upstreams
        } catch {
            reloadFailed(reason: reason, keeping: "keeping the previous table", error)
            exitIfEmpty()
            return
        }
        do {
            // The new table serves on every address that could be bound; one that could not
            // makes the reload a failure, retried like a table that did not load.
            try reconcileListeners()
        } catch {
            reloadFailed(reason: reason, keeping: "serving \(resolver.zones.count) network(s) on \(describeListeners())", error)
            exitIfEmpty()
            return
        }
        ResidentMemory.trim()
        statistics.reloads += 1
        reloadRetry = nil
        lastReloadFailure = nil
        DNSLog.write("reloaded (\(reason)): \(resolver.zones.count) network(s) on \(describeListeners())")
        exitIfEmpty()
    }

    /// Counts a failed reload and schedules the next try (100 ms, doubling up to 5 s).
    private func reloadFailed(reason: String, keeping: String, _ error: BerthError) {
        statistics.failedReloads += 1
        let delay = reloadRetry.map { min($0.delay * 2, Self.maxReloadRetryDelay) } ?? Self.firstReloadRetryDelay
        let at = MonotonicClock.milliseconds() + delay
        reloadRetry = (at, delay)
        schedule(at)
        let failure = "\(error)"
        if failure != lastReloadFailure {
            DNSLog.write("reload (\(reason)) failed, \(keeping), trying again in \(delay) ms (up to every \(Self.maxReloadRetryDelay) ms): \(failure)")
        }
        lastReloadFailure = failure
    }

    /// With `exitWhenEmpty` and an empty table, ends the loop — once the source confirms it
    /// (`DNSTableSource.confirmExit`: Berth's state decides it under the attaches' lock, so
    /// that none reuses a resolver that is exiting). When the source says a network is there
    /// after all, the table is loaded again (once: `cancellingExit` keeps a table that
    /// still loads empty from asking again until the next reload); a failure to decide is
    /// retried like a failed reload.
    private func exitIfEmpty() {
        guard configuration.exitWhenEmpty, resolver.zones.isEmpty, !cancellingExit else { return }
        let confirmed: Bool
        do {
            confirmed = try source.confirmExit()
        } catch {
            reloadFailed(reason: "exit", keeping: "serving no network", error)
            return
        }
        guard confirmed else {
            DNSLog.write("no network to serve at the last reload, but one is ready now: reloading")
            cancellingExit = true
            defer { cancellingExit = false }
            reload(reason: "exit cancelled")
            return
        }
        DNSLog.write("no network to serve: exiting")
        running = false
    }

    static let firstReloadRetryDelay: Int64 = 100
    static let maxReloadRetryDelay: Int64 = 5000

    /// The table and the upstreams. At a reload, upstreams that cannot be read, or a
    /// resolv.conf without nameservers (a file being rewritten, a network manager between
    /// two states), keep the previous ones: forwarding goes off only when it never had
    /// upstreams.
    private func loadState(serial: UInt32, reloading: Bool) throws(BerthError) -> (DNSResolver, [DNSUpstream]) {
        let table = try source.load()
        let resolver = try DNSResolver(table: table, ttl: configuration.ttl, payloadSize: configuration.udpPayloadSize, serial: serial)
        var upstreams: [DNSUpstream]
        switch configuration.upstreams {
        case .fixed(let list): upstreams = list
        case .resolvConf(let path):
            do {
                upstreams = try ResolvConf.read(path: path).upstreams
                if upstreams.isEmpty, reloading, !defaultUpstreams.isEmpty {
                    DNSLog.write("\(path) names no nameserver, keeping the upstreams \(describeUpstreams())")
                    upstreams = defaultUpstreams
                }
            } catch {
                if reloading, !defaultUpstreams.isEmpty {
                    DNSLog.write("cannot read upstreams from \(path), keeping \(describeUpstreams()): \(error)")
                    upstreams = defaultUpstreams
                } else {
                    // No resolv.conf is a host without DNS: Berth's names still resolve.
                    DNSLog.write("cannot read upstreams from \(path), forwarding is off: \(error)")
                    upstreams = []
                }
            }
        }
        return (resolver, upstreams)
    }

    /// Notes a new deadline so the loop wakes up for it.
    func schedule(_ deadline: Int64) {
        if deadline < nextDeadline { nextDeadline = deadline }
    }

    /// Handles every expired client and forward and a reload retry due, and finds the next deadline.
    private func expireDeadlines() {
        let now = MonotonicClock.milliseconds()
        nextDeadline = .max
        if let retry = reloadRetry {
            if retry.at <= now { reload(reason: "retry") } else { schedule(retry.at) }
        }
        resumeAccepting(now: now)
        for (fd, forward) in forwards where forwards[fd] === forward {
            if forward.deadline <= now { upstreamFailed(fd, reason: "timed out") } else { schedule(forward.deadline) }
        }
        // A connection with queries upstream is not idle: its deadline waits (scheduling a
        // deadline already past would make every wait return at once until the forward
        // ends). It gets a fresh idle period when its last query completes (`finish`).
        for (fd, client) in clients where clients[fd] === client && client.inFlight == 0 {
            if client.deadline <= now { closeClient(fd) } else { schedule(client.deadline) }
        }
    }

    private func shutDown() {
        for fd in Array(forwards.keys) { closeUpstream(fd) }
        for fd in Array(clients.keys) { closeClient(fd) }
        for address in Array(listeners.keys) { closeListener(address) }
        DNSLog.write("stopped; statistics: \(statistics)")
    }

    /// Registers `fd` with the loop under `role`; closes it when that fails.
    func register(_ fd: Int32, as role: Role, readable: Bool = true, writable: Bool = false, closeOnFailure: Bool = true) throws(BerthError) {
        nextSerial += 1
        let token = nextSerial << 32 | UInt64(UInt32(bitPattern: fd))
        do {
            try loop.add(fd, token: token, readable: readable, writable: writable)
        } catch {
            if closeOnFailure { close(fd) }
            throw error
        }
        roles[fd] = Registration(role: role, token: token)
    }

    /// Changes what the loop waits for on `fd`.
    func watch(_ fd: Int32, readable: Bool, writable: Bool) {
        guard let registration = roles[fd] else { return }
        try? loop.modify(fd, token: registration.token, readable: readable, writable: writable)
    }

    /// Unregisters and closes `fd`.
    func unregister(_ fd: Int32) {
        loop.remove(fd)
        roles[fd] = nil
        close(fd)
    }

    func describeListeners() -> String {
        listeners.isEmpty ? "no address" : listeners.keys.sorted().map { "\($0)" }.joined(separator: ", ") + " port \(configuration.port)"
    }

    func describeUpstreams() -> String {
        defaultUpstreams.isEmpty ? "none" : defaultUpstreams.map(\.description).joined(separator: ", ")
    }
}
