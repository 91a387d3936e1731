/// Where netlink requests go: the kernel (`NetlinkSocket`) or, in tests, a recorder that
/// keeps the bytes for goldens and answers with acks.
public protocol NetlinkTransport: AnyObject {
    /// A fresh sequence number for the next message.
    func nextSequence() -> UInt32

    /// Sends the request in one `sendmsg` and waits for every ack it asked for. Returns the
    /// other messages received meanwhile (echoes). Throws the first refusal.
    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage]

    /// Sends a dump request (one message, NLM_F_DUMP) and returns every reply message up to
    /// NLMSG_DONE, retrying when the kernel marks the dump as interrupted.
    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage]
}
