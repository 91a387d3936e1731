public import BerthCore
public import BerthNamespace

/// A netlink request the kernel refused: which operation, the errno, and the kernel's own
/// explanation when it gave one (`NETLINK_EXT_ACK`).
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    /// The errno the kernel answered with (positive).
    public let errno: Errno
    /// What Berth asked for, in words ("create veth vb1a2b (peer eth0 in ctr1)").
    public let operation: String
    /// The kernel's extended-ack message, if any.
    public let kernelMessage: String?
    /// The sequence number of the refused message.
    public let sequence: UInt32
    /// Not a refusal: some of the kernel's answers were lost (ENOBUFS, its receive buffer
    /// overflowed) or could not be read (too big, none within the timeout) after the request
    /// was sent, and the changes may well have been applied. Whoever acts on the failure (a rollback, recorded state) must read back
    /// what is there rather than assume nothing was done.
    public let outcomeUnknown: Bool

    /// A refusal of `operation` with `errno` (positive); `outcomeUnknown` for lost answers rather than a refusal.
    public init(errno: Errno, operation: String, kernelMessage: String? = nil, sequence: UInt32 = 0, outcomeUnknown: Bool = false) {
        self.errno = errno
        self.operation = operation
        self.kernelMessage = kernelMessage
        self.sequence = sequence
        self.outcomeUnknown = outcomeUnknown
    }

    /// EEXIST: the object to create is already there.
    public var isAlreadyExists: Bool { errno.code == 17 }
    /// ENOENT, ENODEV or ESRCH: the object named does not exist.
    public var isNotFound: Bool { errno.code == 2 || errno.code == 19 || errno.code == 3 }
    /// EPERM or EACCES.
    public var isPermissionDenied: Bool { errno.code == 1 || errno.code == 13 }
    /// EOPNOTSUPP: a kernel feature (link type, module) is missing.
    public var isNotSupported: Bool { errno.code == 95 }

    public var description: String {
        var text = operation.isEmpty ? "\(errno)" : "\(operation): \(errno)"
        // A cause (no operation) under a BerthError that says so already keeps only the flag.
        if outcomeUnknown, !operation.isEmpty { text += " (answers lost: the outcome is unknown)" }
        if let kernelMessage, !kernelMessage.isEmpty { text += " (kernel: \(kernelMessage))" }
        return text
    }

    /// The same failure as a `BerthError`, with a code and a hint chosen from the errno. The
    /// message is a short verdict; the operation and the kernel's words come from `cause`.
    public var berthError: BerthError {
        // The message names the operation; the cause then adds only errno and kernel text.
        let detail = NetlinkError(errno: errno, operation: "", kernelMessage: kernelMessage, sequence: sequence, outcomeUnknown: outcomeUnknown)
        if outcomeUnknown {
            return BerthError(.kernel, "\(operation): outcome unknown, the kernel's answers were lost (its receive buffer overflowed) and the changes may have been applied",
                              hint: "read back the current state before retrying or undoing anything", cause: detail)
        }
        if isPermissionDenied {
            return BerthError(.permissionDenied, operation, remedy: .privilege("CAP_NET_ADMIN"), cause: detail)
        }
        if isAlreadyExists { return BerthError(.alreadyExists, operation, cause: detail) }
        if isNotFound { return BerthError(.notFound, operation, cause: detail) }
        if isNotSupported {
            return BerthError(.unsupported, operation, hint: "the kernel lacks this feature; check that the needed module is available", cause: detail)
        }
        return BerthError(.kernel, operation, cause: detail)
    }
}

extension BerthError {
    /// Whether this error, or one it was caused by, is a netlink request whose answers were
    /// lost (`NetlinkError.outcomeUnknown`): what it asked for may have been done, so an undo
    /// must not assume the opposite.
    public var outcomeIsUnknown: Bool {
        var current: BerthError? = self
        while let error = current {
            if let netlink = error.cause as? NetlinkError, netlink.outcomeUnknown { return true }
            current = error.cause as? BerthError
        }
        return false
    }
}
