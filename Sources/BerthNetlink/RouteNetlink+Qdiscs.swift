internal import CMNL
public import BerthCore
import BerthNamespace

extension RouteNetlink {
    // MARK: - Reading

    /// The qdiscs of the namespace, or of one link, in the kernel's order (roots first).
    public func qdiscs(of link: LinkReference? = nil) throws(BerthError) -> [Qdisc] {
        let index = try link.map { ref throws(BerthError) in try self.index(of: ref) }
        var request = NetlinkRequest()
        let operation = "list qdiscs\(whereabouts)"
        try request.append(type: RTMQdisc.getQdisc, flags: NetlinkFlags.dump, sequence: transport.nextSequence(), operation: operation,
                           acknowledged: false) { b in b.putFamilyHeader(tcmsg()) }
        let messages: [NetlinkMessage]
        do throws(NetlinkError) {
            messages = try transport.dump(request)
        } catch {
            throw error.berthError
        }
        return messages.compactMap(Qdisc.init(message:)).filter { index == nil || $0.linkIndex == index }
    }

    /// The impairment Berth's qdiscs put on a link (empty if none).
    public func impairment(of link: LinkReference) throws(BerthError) -> Impairment {
        Impairment(qdiscs: try qdiscs(of: link))
    }

    // MARK: - Changing

    /// Sets a link's impairment (an empty one removes it), reading what is installed first
    /// so that parameters change in place when the layout stays.
    public func setImpairment(_ impairment: Impairment, on link: LinkReference) throws(BerthError) {
        let index = try self.index(of: link)
        let installed = try self.impairment(of: .index(index))
        try applyQdiscs { changes throws(BerthError) in try changes.setImpairment(impairment, on: index, installed: installed) }
    }

    /// Sends every qdisc change `build` records in one `sendmsg` and waits for the acks.
    public func applyQdiscs(_ build: (inout QdiscChanges) throws(BerthError) -> Void) throws(BerthError) {
        var changes = QdiscChanges(handle: self)
        try build(&changes)
        try send(qdiscs: changes)
    }

    /// Sends recorded qdisc changes.
    public func send(qdiscs: QdiscChanges) throws(BerthError) {
        try send(NetlinkChanges(handle: self), then: qdiscs)
    }

    /// Sends link, address and route changes and then qdisc changes, all in one `sendmsg`.
    /// As with `send(_:)`, the kernel goes on after a refusal; the error names the first.
    @discardableResult
    public func send(_ changes: NetlinkChanges, then qdiscs: QdiscChanges) throws(BerthError) -> [Link] {
        let request = qdiscs.request(after: changes.request)
        guard !request.entries.isEmpty else { return [] }
        do throws(NetlinkError) {
            return try transport.transact(request).compactMap(Link.init(message:))
        } catch {
            throw qdiscs.translate(error) ?? changes.translate(error)
        }
    }

    /// An empty change set for this handle, to fill and pass to `send(_:then:)`.
    public func newChanges() -> (NetlinkChanges, QdiscChanges) {
        (NetlinkChanges(handle: self), QdiscChanges(handle: self))
    }

    // MARK: - Kernel features

    /// Whether this kernel has the queueing discipline `options` needs, found by installing
    /// it on `lo` of a throwaway namespace that disappears with the handle: a kernel without
    /// the module answers "Specified qdisc kind is unknown". Nothing outside that namespace
    /// is touched.
    public static func kernelSupports(_ options: QdiscOptions) throws(BerthError) -> Bool {
        let scratch = try NetworkNamespace.createAnonymous()
        let netlink = try RouteNetlink(namespace: scratch)
        do throws(BerthError) {
            try netlink.applyQdiscs { changes throws(BerthError) in try changes.add(options, on: 1) }
            return true
        } catch where error.code == .unsupported {
            return false
        }
    }
}
