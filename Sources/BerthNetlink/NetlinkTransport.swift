/// Where netlink requests go: the kernel (`NetlinkSocket`) or, in tests, a recorder that
/// keeps the bytes for goldens and answers with acks.
///
/// A transport is shared by every handle built on it (`RouteNetlink`, `Conntrack`, …) and
/// used from any thread, so an implementation is safe for concurrent use: `nextSequence`
/// never hands out one number twice, and each `transact` or `dump` is one whole
/// request/reply cycle that no other call's answers enter (`NetlinkSocket` holds a lock
/// across it).
public protocol NetlinkTransport: AnyObject, Sendable {
    /// A fresh sequence number for the next message.
    func nextSequence() -> UInt32

    /// Sends the request in one `sendmsg` and waits for every ack it asked for. Returns the
    /// other messages received meanwhile (echoes). Throws the first refusal.
    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage]

    /// Sends a dump request (one message, NLM_F_DUMP) and returns every reply message up to
    /// NLMSG_DONE, retrying when the kernel marks the dump as interrupted.
    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage]
}
