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
    /// so that parameters change in place when the layout stays. A root qdisc of another
    /// kind (an `htb` added by hand) is replaced by a non-empty impairment.
    public func setImpairment(_ impairment: Impairment, on link: LinkReference) throws(BerthError) {
        let index = try self.index(of: link)
        let qdiscs = try self.qdiscs(of: .index(index))
        let installed = Impairment(qdiscs: qdiscs)
        try apply { changes throws(BerthError) in
            try changes.setImpairment(impairment, on: .index(index), installed: installed, foreignRoot: Impairment.foreignRoot(qdiscs))
        }
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
            try netlink.apply { changes throws(BerthError) in try changes.addQdisc(options, on: .index(1)) }
            return true
        } catch where error.code == .unsupported {
            return false
        }
    }
}
