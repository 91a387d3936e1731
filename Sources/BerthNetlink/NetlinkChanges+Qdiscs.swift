internal import CMNL
public import BerthCore

/// Queueing-discipline changes: add, replace and delete a qdisc, and a link's whole
/// impairment. They go in the same `sendmsg` as link, address and route changes, so a lab
/// configures an interface and its qdiscs in one request.
extension NetlinkChanges {
    /// Installs `options` at `parent` (`.root` for the link's egress root), replacing a
    /// qdisc already there (`tc qdisc replace`).
    public mutating func replaceQdisc(_ options: QdiscOptions, on link: LinkReference, parent: QdiscHandle = .root,
                                      handle qdisc: QdiscHandle = Impairment.rootHandle) throws(BerthError) {
        try appendQdisc(RTMQdisc.newQdisc, flags: NetlinkFlags.create | NetlinkFlags.replace, link: link, parent: parent, handle: qdisc,
                        options: options, operation: "set \(options.kind) qdisc \(qdisc) on link \(link)\(handle.whereabouts)")
    }

    /// Adds `options` at `parent`; the kernel refuses if a qdisc is already there.
    public mutating func addQdisc(_ options: QdiscOptions, on link: LinkReference, parent: QdiscHandle = .root,
                                  handle qdisc: QdiscHandle = Impairment.rootHandle) throws(BerthError) {
        try appendQdisc(RTMQdisc.newQdisc, flags: Self.createFlags, link: link, parent: parent, handle: qdisc,
                        options: options, operation: "add \(options.kind) qdisc \(qdisc) on link \(link)\(handle.whereabouts)")
    }

    /// Deletes the qdisc at `parent` (the root by default): the link goes back to the
    /// kernel's default queueing.
    public mutating func deleteQdisc(on link: LinkReference, parent: QdiscHandle = .root) throws(BerthError) {
        try appendQdisc(RTMQdisc.delQdisc, flags: 0, link: link, parent: parent, handle: .unspecified, options: nil,
                        operation: "delete qdisc at \(parent) on link \(link)\(handle.whereabouts)")
    }

    /// Changes a link's impairment from `installed` (as read from the kernel) to `wanted`:
    /// parameters change in place when the layout of qdiscs stays the same; otherwise the
    /// old root goes first (taking its child with it) and the new layout is added.
    ///
    /// `foreignRoot` is a root qdisc of a kind Berth does not install (`Impairment.foreignRoot`,
    /// an `htb` added by hand): the kernel would refuse to change it into a `tbf` or `netem`
    /// at the same handle ("Invalid qdisc name"), so a non-empty `wanted` deletes it first.
    /// An empty `wanted` leaves it.
    public mutating func setImpairment(_ wanted: Impairment, on link: LinkReference, installed: Impairment = Impairment(),
                                       foreignRoot: Qdisc? = nil) throws(BerthError) {
        if foreignRoot != nil, !wanted.isEmpty {
            try deleteQdisc(on: link)
            for layer in wanted.layout { try replaceQdisc(layer.options, on: link, parent: layer.parent, handle: layer.handle) }
            return
        }
        let old = installed.layout.map { ($0.parent, $0.options.kind) }
        let new = wanted.layout.map { ($0.parent, $0.options.kind) }
        let sameLayout = old.count == new.count && zip(old, new).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        if !installed.isEmpty, !sameLayout { try deleteQdisc(on: link) }
        for layer in wanted.layout {
            try replaceQdisc(layer.options, on: link, parent: layer.parent, handle: layer.handle)
        }
    }

    /// The error for a kernel without the `kind` queueing discipline.
    public static func missingQdiscKind(_ kind: String, cause: (any Error & Sendable)? = nil) -> BerthError {
        BerthError(.unsupported, "this kernel has no \(kind) queueing discipline (sch_\(kind))",
                   hint: "load the kernel module sch_\(kind) (CONFIG_NET_SCH_\(kind.uppercased())), or leave \(kind) out",
                   object: BerthError.Object(.qdisc, kind), cause: cause)
    }

    /// A tcmsg for the link, then the kind and its options.
    private mutating func appendQdisc(_ type: UInt16, flags: UInt16, link: LinkReference, parent: QdiscHandle, handle qdisc: QdiscHandle,
                                      options: QdiscOptions?, operation: String) throws(BerthError) {
        if case .tokenBucket(let tbf)? = options, tbf.rate.bytesPerSecond == 0 {
            // The kernel counts whole bytes per second, and a rate of 0 is no limit at all.
            throw .invalid("rate \(tbf.rate) is below 8 bit/s, which a token bucket cannot enforce (it would be no limit)",
                           hint: "give a rate of at least 8bit", parameter: "rate")
        }
        let index = try resolve(link)
        var context = ErrorContext(notFound: BerthError(.notFound, "\(operation): the link or qdisc does not exist",
                                                        object: handle.object(.link, link.description), remedy: .listExisting(.link)))
        // A kernel without the module answers ENOENT too; its extended ack tells the two apart.
        if let kind = options?.kind { context.byKernelMessage = [("qdisc kind is unknown", Self.missingQdiscKind(kind))] }
        var header = tcmsg()
        header.tcm_family = 0
        header.tcm_ifindex = index
        header.tcm_handle = qdisc.rawValue
        header.tcm_parent = parent.rawValue
        try append(type, flags: flags, operation: operation, context: context) { b in
            b.putFamilyHeader(header)
            guard let options else { return }
            b.put(TCA.kind, string: options.kind)
            switch options {
            case .tokenBucket(let tbf):
                b.nest(TCA.options) { b in
                    b.put(TBF.parms, bytes: tbf.qopt)
                    if tbf.rate.bytesPerSecond >= 1 << 32 {
                        var rate = ByteWriter(); rate.u64(tbf.rate.bytesPerSecond)
                        b.put(TBF.rate64, bytes: rate.bytes)
                    }
                    b.put(TBF.burst, u32: tbf.burst)
                }
            case .networkEmulation(let netem):
                // A struct followed by attributes, not a nest: no NLA_F_NESTED, as tc sends it.
                b.put(TCA.options, bytes: netem.options)
            }
        }
    }
}

extension BerthError.Object.Kind {
    /// A queueing discipline (by kind: tbf, netem).
    public static let qdisc = BerthError.Object.Kind(rawValue: "qdisc")
}
