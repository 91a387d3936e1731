public import BerthCore
public import BerthNamespace

/// rtnetlink bound to one network namespace: links, addresses and routes as typed values.
///
/// Every verb is one request and one round trip. Several changes can share a single
/// `sendmsg` through `apply`, each still named in errors:
///
/// ```swift
/// let netlink = try RouteNetlink(namespace: container)
/// try netlink.apply { changes throws(BerthError) in
///     try changes.setUp(.index(1))
///     try changes.setUp(.index(eth0))
///     try changes.addAddress(CIDR(parsing: "10.88.0.2/16"), to: .index(eth0))
///     try changes.addRoute(to: nil, via: .v4(gateway))
/// }
/// ```
///
/// Safe for concurrent use: it keeps no state of its own, and its transport serves one
/// request/reply cycle at a time (`NetlinkTransport`).
public final class RouteNetlink: Sendable {
    /// The namespace the handle works in; nil for the caller's own.
    public let namespace: NetworkNamespace?
    /// Where requests go: a `NetlinkSocket` or, in tests, a recorder.
    public let transport: any NetlinkTransport

    /// Opens an rtnetlink socket inside `namespace` (the caller's namespace if nil).
    public convenience init(namespace: NetworkNamespace? = nil) throws(BerthError) {
        self.init(transport: try NetlinkSocket(.route, in: namespace), namespace: namespace)
    }

    /// Works over any transport, such as a recorder in tests.
    public init(transport: any NetlinkTransport, namespace: NetworkNamespace? = nil) {
        self.transport = transport
        self.namespace = namespace
    }

    /// Sends every change `build` records in one `sendmsg` (up to `messagesPerSend`
    /// messages; more go in several) and waits for all acks.
    ///
    /// The kernel applies the messages in order and keeps going after a refusal, so a
    /// failure can leave the earlier (and later ones of the same `sendmsg`) made; the error
    /// names the first operation it refused, and no later `sendmsg` goes out. Returns the
    /// links the kernel echoed back for creations: none on kernels before 6.1, which ignore
    /// NLM_F_ECHO on RTM_NEWLINK (look them up by name then).
    @discardableResult
    public func apply(_ build: (inout NetlinkChanges) throws(BerthError) -> Void) throws(BerthError) -> [Link] {
        var changes = NetlinkChanges(handle: self)
        try build(&changes)
        return try send(changes)
    }

    /// Sends recorded changes; see `apply`.
    @discardableResult
    public func send(_ changes: NetlinkChanges) throws(BerthError) -> [Link] {
        guard !changes.request.entries.isEmpty else { return [] }
        var echoed: [Link] = []
        // rtnetlink applies each message on its own, so cutting the request loses nothing
        // of atomicity; it bounds what the kernel queues before Berth reads (ENOBUFS).
        for chunk in changes.request.chunks(ofAtMost: Self.messagesPerSend) {
            do {
                echoed += try transport.transact(chunk).compactMap(Link.init(message:))
            } catch {
                throw changes.translate(error)
            }
        }
        return echoed
    }

    /// The most messages one `sendmsg` carries: their acks (about 0.8 KiB each, as the
    /// kernel counts) then fit the default receive buffer with room to spare.
    public static let messagesPerSend = 128

    /// A description of the handle's namespace for messages ("in namespace ctr1").
    var whereabouts: String {
        guard let namespace else { return "" }
        return " in network namespace \(namespace)"
    }

    /// What an error is about: an object of `kind` named `name`, living in the handle's
    /// namespace. Front ends word their advice (which command lists links, where) from it.
    func object(_ kind: BerthError.Object.Kind, _ name: String) -> BerthError.Object {
        BerthError.Object(kind, name, namespace: namespace?.description)
    }

    /// Runs a dump and returns every message.
    func dump(type: UInt16, operation: String, _ build: (inout NetlinkMessageBuilder) -> Void) throws(BerthError) -> [NetlinkMessage] {
        var request = NetlinkRequest()
        try request.append(type: type, flags: NetlinkFlags.dump, sequence: transport.nextSequence(), operation: operation,
                           acknowledged: false, build)
        do {
            return try transport.dump(request)
        } catch {
            throw error.berthError
        }
    }
}
