import BerthCore
import BerthNamespace

/// rtnetlink changes recorded for one `sendmsg`: build them in `RouteNetlink.apply`, or
/// record them here and pass them to `RouteNetlink.send`.
///
/// Each verb appends one message with its own sequence number and a sentence naming it, so
/// a refusal says which change failed. A link given by name is resolved to an index (one
/// round trip) only where the kernel needs an index: a master, an address, a route.
public struct NetlinkChanges {
    let handle: RouteNetlink
    /// The messages so far.
    public internal(set) var request = NetlinkRequest()
    /// Each message's sequence number and how to explain its refusal, in order. An array,
    /// not a `[UInt32: ErrorContext]`: it is read only on a refusal, and a process's first
    /// `UInt32: Hashable` use costs a scan of every conformance record in the binary; of a
    /// named type, not a tuple, which is generic metadata built at its first use.
    var contexts: [SequencedContext] = []
    /// The namespaces messages name by descriptor (a veth's peer, a move), kept alive with
    /// the changes: a namespace closed before the send could have its descriptor number
    /// reused by another file, and the kernel would read that one.
    var namespaces: [NetworkNamespace] = []

    struct SequencedContext {
        var sequence: UInt32
        var context: ErrorContext
    }

    init(handle: RouteNetlink) { self.handle = handle }

    /// How many messages are recorded.
    public var count: Int { request.entries.count }

    // MARK: - Errors

    /// Turns the kernel's refusal into a BerthError that names the object at fault.
    func translate(_ error: NetlinkError) -> BerthError {
        guard let context = contexts.first(where: { $0.sequence == error.sequence })?.context else { return error.berthError }
        if let text = error.kernelMessage, let match = context.byKernelMessage.first(where: { text.containsBytes(of: $0.fragment) }) {
            return Self.refusal(match.error.code, match.error, cause: error)
        }
        if error.isNotFound || context.alsoNotFound.contains(error.errno.code), let notFound = context.notFound {
            return Self.refusal(.notFound, notFound, cause: error)
        }
        if error.isAlreadyExists, let exists = context.alreadyExists {
            return Self.refusal(.alreadyExists, exists, cause: error)
        }
        if error.isNotSupported || context.alsoUnsupported.contains(error.errno.code), let unsupported = context.unsupported {
            return Self.refusal(.unsupported, unsupported, cause: error)
        }
        return error.berthError
    }

    /// `explanation` with `code`, caused by the kernel's refusal: every structured field kept.
    private static func refusal(_ code: BerthError.Code, _ explanation: BerthError, cause: NetlinkError) -> BerthError {
        BerthError(code, explanation.message, hint: explanation.hint, object: explanation.object, operation: explanation.operation,
                   parameter: explanation.parameter, remedy: explanation.remedy, cause: cause)
    }

    struct ErrorContext {
        var alreadyExists: BerthError?
        var notFound: BerthError?
        /// Errnos besides ENOENT/ENODEV/ESRCH that mean "not there" for this message. Arrays,
        /// not `Set`s, here and in `tolerated`: a `Set<Int32>` literal hashes, and the first
        /// `Int32: Hashable` use scans all of the binary's conformance records (perf6).
        var alsoNotFound: [Int32] = []
        var unsupported: BerthError?
        /// Errnos besides EOPNOTSUPP that mean "not supported here" for this message.
        var alsoUnsupported: [Int32] = []
        /// Refusals told apart by the kernel's extended-ack text (a fragment of it), checked
        /// first: a missing qdisc module and a missing link both answer ENOENT.
        var byKernelMessage: [(fragment: String, error: BerthError)] = []
    }

    /// EEXIST.
    static let eexist: Int32 = 17

    /// EADDRNOTAVAIL: what deleting an address that is not there answers.
    static let eaddrnotavail: Int32 = 99

    // MARK: - Message building

    /// Creations fail if the object exists (`ip link add`), never replace it.
    static let createFlags = NetlinkFlags.create | NetlinkFlags.exclusive

    /// The index of `link`, asking the kernel when it is given by name.
    func resolve(_ link: LinkReference) throws(BerthError) -> Int32 {
        try handle.index(of: link)
    }

    /// Appends one message with the next sequence number and remembers how to explain its refusal.
    mutating func append(_ type: UInt16, flags: UInt16, operation: String, context: ErrorContext, tolerated: [Int32] = [],
                         _ build: (inout NetlinkMessageBuilder) -> Void) throws(BerthError) {
        let sequence = handle.transport.nextSequence()
        try request.append(type: type, flags: flags, sequence: sequence, operation: operation, tolerated: tolerated, build)
        contexts.append(SequencedContext(sequence: sequence, context: context))
    }
}
