import BerthCore

/// One or more netlink messages sent together in a single `sendmsg`, with what each asks
/// of the kernel in words, so a refusal names the operation that failed.
public struct NetlinkRequest: Sendable {
    /// One message of the request.
    public struct Entry: Sendable {
        /// The message's `nlmsg_seq`, by which its answer is matched.
        public let sequence: UInt32
        /// What the message does, for errors ("add address 10.0.0.2/24 to eth0").
        public let operation: String
        /// Whether the message carries NLM_F_ACK, so the kernel answers it.
        public let expectsAck: Bool
        /// Whether the message carries NLM_F_ECHO, so the kernel may send the object back.
        public var expectsEcho: Bool = false
        /// Errnos that mean the change is already as wanted, answered as success (EEXIST
        /// for "add this route unless one is there").
        public var tolerated: [Int32] = []
        /// Whether the kernel answers the message with an object besides its ack (a GET
        /// that is not a dump), for `answerBudget`.
        public var expectsReply: Bool = false
    }

    /// All messages, concatenated and aligned.
    public private(set) var bytes: [UInt8] = []
    /// The messages, in the order they are sent.
    public private(set) var entries: [Entry] = []

    /// An empty request.
    public init() {}

    /// Appends a message built elsewhere (for example by libnftnl). `expectsAck` must match
    /// its NLM_F_ACK flag.
    /// `tolerated`: errnos answered as success (ENOENT for "read this element if it
    /// exists"); `expectsReply`: the kernel sends an object back (a GET, not a dump).
    public mutating func append(rawMessage: [UInt8], sequence: UInt32, operation: String, expectsAck: Bool,
                                tolerated: [Int32] = [], expectsReply: Bool = false) {
        bytes += rawMessage
        let padding = (4 - rawMessage.count % 4) % 4
        if padding > 0 { bytes += [UInt8](repeating: 0, count: padding) }
        // nlmsg_flags, little-endian at offset 6 of the header.
        let flags = rawMessage.count >= 8 ? UInt16(rawMessage[6]) | UInt16(rawMessage[7]) << 8 : 0
        entries.append(Entry(sequence: sequence, operation: operation, expectsAck: expectsAck,
                             expectsEcho: flags & NetlinkFlags.echo != 0, tolerated: tolerated, expectsReply: expectsReply))
    }

    /// Appends a message built here with libmnl; NLM_F_REQUEST is added, and NLM_F_ACK unless
    /// `acknowledged` is false (dump requests, which end with NLMSG_DONE instead).
    mutating func append(type: UInt16, flags: UInt16, sequence: UInt32, operation: String, acknowledged: Bool = true,
                         tolerated: [Int32] = [], _ build: (inout NetlinkMessageBuilder) -> Void) throws(BerthError) {
        let ack = acknowledged ? NetlinkFlags.ack : 0
        var builder = NetlinkMessageBuilder(type: type, flags: flags | NetlinkFlags.request | ack, sequence: sequence)
        build(&builder)
        guard !builder.overflowed else {
            throw BerthError(.internalError, "\(operation): netlink message over \(NetlinkMessageBuilder.capacity) bytes")
        }
        append(rawMessage: builder.bytes, sequence: sequence, operation: operation, expectsAck: acknowledged)
        entries[entries.count - 1].tolerated = tolerated
    }

    /// The operation of the message with `sequence`, for errors.
    public func operation(for sequence: UInt32) -> String? {
        entries.first { $0.sequence == sequence }?.operation
    }

    /// Whether the kernel's `errno` for the message with `sequence` counts as success.
    public func tolerates(_ errno: Int32, sequence: UInt32) -> Bool {
        entries.first { $0.sequence == sequence }?.tolerated.contains(errno) ?? false
    }

    /// How many acknowledgements the kernel will send.
    public var expectedAcks: Int { entries.count { $0.expectsAck } }

    /// Receive-buffer space the kernel's answers to this request may take before Berth reads
    /// any of them: it queues every ack and echo of one `sendmsg` first. Counted by what the
    /// kernel charges (an skb's truesize, not its length): about 0.8 KiB per ack or error,
    /// a few KiB per echoed link, about 1 KiB per small object a GET answers with (a set
    /// element: the kernel trims its skb); rounded up to 1 KiB, 8 KiB and 2 KiB.
    public var answerBudget: Int {
        entries.reduce(0) { $0 + ($1.expectsAck ? 1024 : 0) + ($1.expectsEcho ? 8192 : 0) + ($1.expectsReply ? 2048 : 0) }
    }

    /// The request cut into requests of at most `limit` messages each, in order (itself
    /// when it is no longer). Every message keeps its sequence number, words and tolerated
    /// errnos.
    func chunks(ofAtMost limit: Int) -> [NetlinkRequest] {
        guard entries.count > limit, limit > 0 else { return [self] }
        var result: [NetlinkRequest] = []
        var current = NetlinkRequest()
        var offset = 0
        for entry in entries {
            // Each message's length is its first header field; messages are 4-byte aligned.
            guard offset + 4 <= bytes.count else { break }
            let length = (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
            let end = min(bytes.count, offset + ((length + 3) & ~3))
            current.bytes += bytes[offset..<end]
            current.entries.append(entry)
            offset = end
            if current.entries.count == limit {
                result.append(current)
                current = NetlinkRequest()
            }
        }
        if !current.entries.isEmpty { result.append(current) }
        return result
    }
}

/// nlmsghdr flag values (NLM_F_*), spelled once.
public enum NetlinkFlags {
    /// NLM_F_REQUEST: a request (set on every message to the kernel).
    public static let request: UInt16 = 0x01
    /// NLM_F_MULTI: one of several parts, ended by NLMSG_DONE.
    public static let multi: UInt16 = 0x02
    /// NLM_F_ACK: asks for an NLMSG_ERROR answer (error 0 on success).
    public static let ack: UInt16 = 0x04
    /// NLM_F_ECHO: asks for the request back (with the object as created).
    public static let echo: UInt16 = 0x08
    /// NLM_F_DUMP_INTR: the dump changed while it was read and is inconsistent.
    public static let dumpInterrupted: UInt16 = 0x10
    /// NLM_F_ROOT (GET): the whole table.
    public static let root: UInt16 = 0x100
    /// NLM_F_MATCH (GET): every matching entry.
    public static let match: UInt16 = 0x200
    /// NLM_F_DUMP (GET): NLM_F_ROOT | NLM_F_MATCH.
    public static let dump: UInt16 = 0x300
    /// NLM_F_REPLACE (NEW): replace an existing object.
    public static let replace: UInt16 = 0x100
    /// NLM_F_EXCL (NEW): fail with EEXIST if the object exists.
    public static let exclusive: UInt16 = 0x200
    /// NLM_F_CREATE (NEW): create the object if it does not exist.
    public static let create: UInt16 = 0x400
    /// NLM_F_APPEND (NEW): add to the end of the list.
    public static let append: UInt16 = 0x800
    /// In an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK).
    public static let capped: UInt16 = 0x100
    /// In an NLMSG_ERROR: extended-ack attributes follow.
    public static let ackTLVs: UInt16 = 0x200
}

/// Control message types (NLMSG_*).
public enum NetlinkMessageType {
    /// NLMSG_NOOP: nothing; ignored.
    public static let noop: UInt16 = 1
    /// NLMSG_ERROR: an ack (error 0) or a refusal (a negative errno).
    public static let error: UInt16 = 2
    /// NLMSG_DONE: the end of a dump.
    public static let done: UInt16 = 3
}
