#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Counters of what the server did, printed on SIGUSR1 as one `key=value` line.
public struct DNSServerStatistics: Sendable, Hashable, CustomStringConvertible {
    public var udpQueries = 0
    public var tcpQueries = 0
    /// Answered here: the table's names, reverse names of Berth subnets, refusals.
    public var answeredLocally = 0
    /// Sent upstream.
    public var forwarded = 0
    /// Upstream answers relayed.
    public var relayed = 0
    /// SERVFAIL because every upstream failed, none was configured, or too many waited.
    public var serverFailures = 0
    /// REFUSED because the source already had its share of queries upstream.
    public var limitedForwards = 0
    /// REFUSED instead of forwarded because the query came from the host itself (one of the
    /// resolver's own listen addresses): relaying for the host can loop through its resolver.
    public var refusedForwards = 0
    /// Malformed queries answered FORMERR.
    public var formatErrors = 0
    /// Datagrams dropped without a reply: responses, headerless bytes, refused sources.
    public var dropped = 0
    /// Queries from outside the network's subnets (counted in `dropped` too).
    public var refusedSources = 0
    /// UDP answers cut to the client's payload size (TC set).
    public var truncated = 0
    /// Upstream replies that did not match the query they claimed to answer.
    public var mismatchedReplies = 0
    /// TCP connections closed because of the connection limit: the longest idle one to
    /// make room, or the new one when every connection has a query upstream.
    public var rejectedConnections = 0
    /// Times a TCP listener was left unwatched for a moment because `accept` ran out of
    /// descriptors or memory.
    public var acceptPauses = 0
    public var reloads = 0
    public var failedReloads = 0
    /// Listen addresses of the table without sockets after the last reload (another process
    /// holds the port, or the address cannot be bound): their reload is being retried.
    public var unboundAddresses = 0

    public init() {}

    public var description: String {
        "udp=\(udpQueries) tcp=\(tcpQueries) local=\(answeredLocally) forwarded=\(forwarded) relayed=\(relayed) "
            + "servfail=\(serverFailures) limited=\(limitedForwards) host_refused=\(refusedForwards) formerr=\(formatErrors) dropped=\(dropped) refused_source=\(refusedSources) "
            + "truncated=\(truncated) mismatched=\(mismatchedReplies) rejected_tcp=\(rejectedConnections) accept_paused=\(acceptPauses) "
            + "reloads=\(reloads) failed_reloads=\(failedReloads) unbound=\(unboundAddresses)"
    }
}

/// Lines on stderr, prefixed `berth-dns:`; written with one write(2) each.
enum DNSLog {
    static func write(_ text: String) {
        let line = Array("berth-dns: \(text)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
