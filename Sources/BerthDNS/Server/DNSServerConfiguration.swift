import BerthCore

/// How the resolver process runs. The names and listen addresses come from the table
/// source; this is everything else.
public struct DNSServerConfiguration: Sendable {
    /// Where forwarded queries go when a network names no upstreams of its own.
    public enum Upstreams: Sendable, Hashable {
        /// The nameservers of a resolv.conf file, read at start and at every reload.
        case resolvConf(path: String)
        /// A fixed list.
        case fixed([DNSUpstream])
    }

    /// The port on every listen address (53; tests and benchmarks use others).
    public var port: UInt16 = 53
    public var upstreams: Upstreams = .resolvConf(path: ResolvConf.hostPath)
    /// How long one upstream has to answer before the next one is asked.
    public var upstreamTimeoutMilliseconds = 2000
    /// Queries waiting for an upstream at once; more are answered SERVFAIL.
    public var maxPendingForwards = 256
    /// Queries from one source address waiting for an upstream at once; more are answered
    /// REFUSED, so one container cannot take every slot of `maxPendingForwards`.
    public var maxPendingForwardsPerSource = 32
    /// Queries from one network waiting for an upstream at once, of `networks` served:
    /// an equal part of `maxPendingForwards`, at least 16 (the parts may add up to more
    /// than the pool). More are answered REFUSED, so one network flooding slow names
    /// cannot leave every other network SERVFAIL.
    public func maxPendingForwardsPerNetwork(networks: Int) -> Int {
        max(min(16, maxPendingForwards), maxPendingForwards / max(1, networks))
    }
    /// Client TCP connections at once. At the limit a new one takes the place of a
    /// connection of the source address that holds the most (the one idle longest, busy
    /// ones last).
    public var maxTCPConnections = 32
    /// Client TCP connections from one source address at once (RFC 7766 §6.2.2): an eighth
    /// of `maxTCPConnections`, at least 2. At this share a new one replaces the source's own
    /// connection idle longest, or is closed when all of them have queries upstream.
    public var maxTCPConnectionsPerSource: Int { max(2, maxTCPConnections / 8) }
    /// A TCP connection with nothing in flight is closed after this long without a query
    /// (RFC 7766 §6.2.3 asks for seconds, not minutes).
    public var tcpIdleTimeoutMilliseconds = 10_000
    /// Queries one TCP connection may have upstream at once; its further queries wait in
    /// the kernel's socket buffer until one completes.
    public var maxQueriesPerConnection = 4
    /// The largest UDP answer this resolver sends and the size it advertises in EDNS
    /// (1232: no IP fragmentation on any common path, as DNS Flag Day 2020 chose).
    public var udpPayloadSize: UInt16 = 1232
    /// TTL of local answers.
    public var ttl: UInt32 = 0
    /// Exit (status 0) when a reload leaves no network to serve.
    public var exitWhenEmpty = false
    /// Log each query's outcome to stderr (for debugging; off at load).
    public var verbose = false
    /// Where to list the listen addresses that could not be bound (`ADDRESS NETWORK` per
    /// line; no file when all are), for `berth check`; nil: nowhere. `berth-dns --state
    /// DIR` uses `DIR/berth-dns.unbound` (`ResolverLaunch.unboundReportName`).
    public var unboundReportPath: String?

    public init() {}
}
