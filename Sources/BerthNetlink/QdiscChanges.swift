internal import CMNL
public import BerthCore

/// Queueing-discipline changes recorded for one `sendmsg`, like `NetlinkChanges` for
/// links, addresses and routes: build them in `RouteNetlink.applyQdiscs`, or record them
/// and send them alone or after a `NetlinkChanges` in the same `sendmsg`.
///
/// Links are given by index: the caller usually has it from the link's creation echo.
public struct QdiscChanges: Sendable {
    /// One recorded message.
    struct Message: Sendable {
        let bytes: [UInt8]
        let sequence: UInt32
        let operation: String
        let kind: String?
    }

    let whereabouts: String
    private let sequences: @Sendable () -> UInt32
    private(set) var messages: [Message] = []

    init(handle: RouteNetlink) {
        whereabouts = handle.whereabouts
        let transport = UncheckedTransport(transport: handle.transport)
        sequences = { transport.transport.nextSequence() }
    }

    /// How many messages are recorded.
    public var count: Int { messages.count }

    /// Installs `options` at `parent` (`.root` for the link's egress root), replacing a
    /// qdisc already there (`tc qdisc replace`).
    public mutating func replace(_ options: QdiscOptions, on link: Int32, parent: QdiscHandle = .root,
                                 handle: QdiscHandle = Impairment.rootHandle) throws(BerthError) {
        try append(RTMQdisc.newQdisc, flags: NetlinkFlags.create | NetlinkFlags.replace, link: link, parent: parent, handle: handle,
                   options: options, operation: "set \(options.kind) qdisc \(handle) on link \(link)\(whereabouts)")
    }

    /// Adds `options` at `parent`; the kernel refuses if a qdisc is already there.
    public mutating func add(_ options: QdiscOptions, on link: Int32, parent: QdiscHandle = .root,
                             handle: QdiscHandle = Impairment.rootHandle) throws(BerthError) {
        try append(RTMQdisc.newQdisc, flags: NetlinkFlags.create | NetlinkFlags.exclusive, link: link, parent: parent, handle: handle,
                   options: options, operation: "add \(options.kind) qdisc \(handle) on link \(link)\(whereabouts)")
    }

    /// Deletes the qdisc at `parent` (the root by default): the link goes back to the
    /// kernel's default queueing.
    public mutating func delete(on link: Int32, parent: QdiscHandle = .root) throws(BerthError) {
        try append(RTMQdisc.delQdisc, flags: 0, link: link, parent: parent, handle: .unspecified, options: nil,
                   operation: "delete qdisc at \(parent) on link \(link)\(whereabouts)")
    }

    /// Changes a link's impairment from `installed` (as read from the kernel) to `wanted`:
    /// parameters change in place when the layout of qdiscs stays the same; otherwise the
    /// old root goes first (taking its child with it) and the new layout is added.
    public mutating func setImpairment(_ wanted: Impairment, on link: Int32, installed: Impairment = Impairment()) throws(BerthError) {
        let old = installed.layout.map { ($0.parent, $0.options.kind) }
        let new = wanted.layout.map { ($0.parent, $0.options.kind) }
        let sameLayout = old.count == new.count && zip(old, new).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        if !installed.isEmpty, !sameLayout { try delete(on: link) }
        for layer in wanted.layout {
            try replace(layer.options, on: link, parent: layer.parent, handle: layer.handle)
        }
    }

    // MARK: - Building

    private mutating func append(_ type: UInt16, flags: UInt16, link: Int32, parent: QdiscHandle, handle: QdiscHandle,
                                 options: QdiscOptions?, operation: String) throws(BerthError) {
        let sequence = sequences()
        var request = NetlinkRequest()
        try request.append(type: type, flags: flags, sequence: sequence, operation: operation) { b in
            var header = tcmsg()
            header.tcm_family = 0
            header.tcm_ifindex = link
            header.tcm_handle = handle.rawValue
            header.tcm_parent = parent.rawValue
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
        messages.append(Message(bytes: request.bytes, sequence: sequence, operation: operation, kind: options?.kind))
    }

    /// The messages as a request, appended to `base` (another change set's request).
    func request(after base: NetlinkRequest = NetlinkRequest()) -> NetlinkRequest {
        var request = base
        for message in messages {
            request.append(rawMessage: message.bytes, sequence: message.sequence, operation: message.operation, expectsAck: true)
        }
        return request
    }

    /// Names a refusal of one of these messages; nil if the sequence is not one of them.
    func translate(_ error: NetlinkError) -> BerthError? {
        guard let message = messages.first(where: { $0.sequence == error.sequence }) else { return nil }
        if let kind = message.kind, error.isNotFound, error.kernelMessage?.contains("qdisc kind is unknown") == true {
            return Self.missingKind(kind, cause: error)
        }
        if error.isNotFound {
            return BerthError(.notFound, "\(message.operation): the link or qdisc does not exist", cause: error)
        }
        return error.berthError
    }

    /// The error for a kernel without the `kind` queueing discipline.
    static func missingKind(_ kind: String, cause: (any Error & Sendable)? = nil) -> BerthError {
        BerthError(.unsupported, "this kernel has no \(kind) queueing discipline (sch_\(kind))",
                   hint: "load the kernel module sch_\(kind) (CONFIG_NET_SCH_\(kind.uppercased())), or leave \(kind) out",
                   object: BerthError.Object(.init(rawValue: "qdisc"), kind), cause: cause)
    }
}

/// The transport, for the sequence closure: a `QdiscChanges` lives on its handle's thread.
private struct UncheckedTransport: @unchecked Sendable {
    let transport: any NetlinkTransport
}
