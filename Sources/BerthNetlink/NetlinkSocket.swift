#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CMNL
public import BerthCore
public import BerthNamespace
import Synchronization

#if canImport(Glibc)
/// SOCK_RAW and SOCK_CLOEXEC: members of an enum in Glibc's module, plain Int32s in Musl's.
private let socketRaw = Int32(SOCK_RAW.rawValue), socketCloseOnExec = Int32(SOCK_CLOEXEC.rawValue)
#else
private let socketRaw = SOCK_RAW, socketCloseOnExec = SOCK_CLOEXEC
#endif

/// socket(2) under a name the class's own `socket` property does not shadow.
private func systemSocket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 { socket(domain, type, proto) }

/// A netlink socket (libmnl) bound to one network namespace.
///
/// The socket is opened inside its namespace from a dedicated thread, so it talks to that
/// namespace's kernel objects from whichever thread uses it. It asks the kernel for
/// extended acks (the kernel's error text lands in `NetlinkError`), strict checking of dump
/// requests, and capped acks (errors do not echo whole batches back).
///
/// Safe for concurrent use: each request's whole cycle (its `sendmsg` and every answer up
/// to its last ack or NLMSG_DONE) holds the socket's lock, so an answer is never read by
/// another request's caller. Requests from several threads are served one at a time.
///
/// `@unchecked`: `exchange` guards every `var` below (`nextSequence`, `transact` and `dump`
/// take it for their whole run; the rest is reached only from inside them, or by
/// single-threaded tests); `socket` and the `let`s never change after `init`.
public final class NetlinkSocket: NetlinkTransport, @unchecked Sendable {
    /// Which netlink bus the socket speaks.
    public enum Bus: Int32, Sendable {
        /// rtnetlink: links, addresses, routes.
        case route = 0
        /// nfnetlink: nftables, conntrack.
        case netfilter = 12
        /// sock_diag: the sockets of a namespace.
        case socketDiagnostics = 4
    }

    /// The namespace the socket lives in; nil for the caller's own.
    public let namespace: NetworkNamespace?
    /// The bus.
    public let bus: Bus
    /// The kernel-assigned port id.
    public let portID: UInt32

    private let socket: OpaquePointer
    /// Held by each request/reply cycle and by `nextSequence`: what makes the socket's
    /// state (sequence, buffers, an abandoned dump) and its answers one request's at a time.
    private let exchange = Mutex<Void>(())

    /// The socket's file descriptor, owned by this object (closed with it).
    public var descriptor: Int32 { mnl_socket_get_fd(socket) }
    private var sequence: UInt32
    /// Where answers are read; internal so a test can make it too small for an answer.
    var receiveBuffer: [UInt8]
    /// What the send buffer was last grown to (the kernel default is about 208 KiB).
    private var sendBufferSize = 200_000
    /// How much the kernel lets queue for this socket before it drops answers (ENOBUFS), as
    /// far as Berth knows: at first less than the usual default (net.core.rmem_default,
    /// 212,992), taken on trust to save a system call per socket; the value read back once
    /// a request needed more.
    private var receiveBudget: Int
    /// Whether the kernel granted less than asked (no CAP_NET_ADMIN for SO_RCVBUFFORCE, and
    /// net.core.rmem_max lower): asking again would only cost system calls. Internal for a
    /// test that plays such a host.
    var receiveBudgetCapped = false
    /// The sequence number of a dump left before its end (an error while reading it): the
    /// kernel keeps the socket busy with it (EBUSY to the next dump) until it is read out.
    /// Internal, not private, for a test that abandons one on purpose.
    var abandonedDump: UInt32?
    /// The largest datagram read at once (dumps come in several).
    private static let receiveBufferSize = 65536
    /// What the receive budget is assumed to be before it was ever grown.
    static let assumedReceiveBudget = 128 * 1024
    /// How long to wait for the kernel before giving up; a safety net, never hit normally.
    private static let receiveTimeoutSeconds = 30

    /// Opens a socket on `bus` inside `namespace` (the caller's namespace if nil), after
    /// writing `sysctls` there from the same namespace thread (none without a namespace).
    public convenience init(_ bus: Bus, in namespace: NetworkNamespace? = nil, writing sysctls: [SysctlWrite] = []) throws(BerthError) {
        try self.init(bus, in: namespace, writing: sysctls, receiveBufferSize: nil)
    }

    /// With `receiveBufferSize`, the socket starts with that SO_RCVBUF (the kernel doubles
    /// it) instead of the kernel's default: for tests of a small buffer.
    init(_ bus: Bus, in namespace: NetworkNamespace?, writing sysctls: [SysctlWrite], receiveBufferSize: Int32?) throws(BerthError) {
        let fd: Int32
        if let namespace {
            fd = sysctls.isEmpty
                ? try namespace.openSocket(domain: AF_NETLINK, type: socketRaw, protocol: bus.rawValue)
                : try namespace.openSocket(domain: AF_NETLINK, type: socketRaw, protocol: bus.rawValue, afterWriting: sysctls)
        } else {
            fd = systemSocket(AF_NETLINK, socketRaw | socketCloseOnExec, bus.rawValue)
            guard fd >= 0 else { throw .system("open a netlink socket", .current, privilege: "CAP_NET_ADMIN") }
        }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = Errno.current
            close(fd)
            throw .system("wrap netlink socket", error)
        }
        guard mnl_socket_bind(socket, 0, 0) == 0 else {
            let error = Errno.current
            mnl_socket_close(socket)
            throw .system("bind netlink socket", error)
        }
        var one: Int32 = 1
        // Best effort: an old kernel without these still works, with terser errors.
        _ = mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        if bus == .route {
            _ = mnl_socket_setsockopt(socket, NETLINK_GET_STRICT_CHK, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: Self.receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // The receive buffer is left at the kernel's default and grown by `transact` when a
        // request's answers may not fit (`NetlinkRequest.answerBudget`).
        if var size = receiveBufferSize {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            receiveBudget = Self.receiveBufferGranted(fd) ?? Int(size)
        } else {
            receiveBudget = Self.assumedReceiveBudget
        }

        self.socket = socket
        self.namespace = namespace
        self.bus = bus
        self.portID = mnl_socket_get_portid(socket)
        self.sequence = UInt32.random(in: 1...(UInt32.max / 2))
        // Left uninitialised: the kernel writes what is read back, and a page is only
        // touched (faulted in) when a reply reaches it; zeroing 64 KiB per socket cost a
        // CLI attach 16 page faults per socket.
        self.receiveBuffer = [UInt8](unsafeUninitializedCapacity: Self.receiveBufferSize) { _, count in count = Self.receiveBufferSize }
    }

    deinit { mnl_socket_close(socket) }

    /// A fresh sequence number: the last plus one, skipping 0.
    public func nextSequence() -> UInt32 {
        exchange.withLock { _ in
            sequence &+= 1
            if sequence == 0 { sequence = 1 }
            return sequence
        }
    }

    // MARK: - Requests

    /// Sends the request in one `sendmsg` and waits for every ack it asked for; returns the other messages received (echoes) and throws the first refusal not tolerated, or an `outcomeUnknown` error when acks were lost.
    public func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        try exchange.withLock { _ throws(NetlinkError) in try transactLocked(request) }
    }

    /// Sends a dump request and returns its messages up to NLMSG_DONE, starting over when the kernel marks the dump interrupted (EINTR after 5 tries).
    public func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        try exchange.withLock { _ throws(NetlinkError) in try dumpLocked(request) }
    }

    /// `transact`, with `exchange` held.
    private func transactLocked(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        // The kernel answers the whole sendmsg before Berth reads a byte: make room first.
        growReceiveBuffer(toHold: request.answerBudget)
        try send(request)
        // The request's sequence numbers, sorted, and which of them still await an answer:
        // arrays searched by bisection rather than Sets, whose first use of UInt32 keys costs
        // a process a scan of every conformance in the binary (0.1M instructions).
        let known = request.entries.map(\.sequence).sorted()
        var awaiting = [Bool](repeating: false, count: known.count)
        for entry in request.entries where entry.expectsAck {
            if let index = Self.index(of: entry.sequence, in: known) { awaiting[index] = true }
        }
        var pending = awaiting.count { $0 }
        var replies: [NetlinkMessage] = []
        var firstError: NetlinkError?
        // Set once the kernel said it dropped answers (ENOBUFS): what it did queue is then
        // read without waiting, as it answered the whole request within the sendmsg.
        var lost = false
        while pending > 0 {
            let datagram: [NetlinkMessage]?
            do {
                // After a refusal, what the kernel queued is read without waiting: it answers
                // the whole sendmsg before it returns, and a refusal may be all it answers
                // (nfnetlink checks CAP_NET_ADMIN once per datagram outside a batch, acks the
                // first message with EPERM and drops the rest).
                datagram = try receive(operation: request.entries.first?.operation ?? "netlink receive", waiting: !lost && firstError == nil)
            } catch where error.errno.code == ENOBUFS {
                lost = true
                continue
            } catch {
                // A refusal already read is the answer, whatever could not be read after it.
                if let firstError { throw firstError }
                // The kernel applied the request within the sendmsg; what could not be read
                // (an answer too big, no answer within the timeout) leaves its outcome
                // unknown, never a refusal that a rollback would take for "nothing done".
                throw NetlinkError(errno: error.errno, operation: error.operation, kernelMessage: error.kernelMessage, outcomeUnknown: true)
            }
            guard let datagram else { break }
            for message in datagram {
                guard let index = Self.index(of: message.sequence, in: known) else { continue }
                if message.type == NetlinkMessageType.error {
                    let (code, text) = Self.parseError(message)
                    if awaiting[index] {
                        awaiting[index] = false
                        pending -= 1
                    }
                    if code != 0, firstError == nil, !request.tolerates(-code, sequence: message.sequence) {
                        firstError = NetlinkError(errno: Errno(-code), operation: request.operation(for: message.sequence) ?? "netlink request",
                                                  kernelMessage: text, sequence: message.sequence)
                    }
                    // A refusal pinned on a message that asked for no ack (a batch header)
                    // means the kernel processed nothing else: stop waiting.
                    if code != 0, !request.entries.contains(where: { $0.sequence == message.sequence && $0.expectsAck }) {
                        pending = 0
                    }
                } else {
                    replies.append(message)
                }
            }
        }
        if let firstError { throw firstError }
        if pending > 0 {
            // Acks were dropped, and none that arrived was a refusal: the kernel may well
            // have applied everything. Not a refusal, and not to be taken for one.
            throw NetlinkError(errno: Errno(ENOBUFS), operation: (request.entries.first?.operation ?? "netlink request")
                                   + " (and \(request.entries.count - 1) more): \(pending) of \(request.expectedAcks) answers lost",
                               outcomeUnknown: true)
        }
        return replies
    }

    /// `dump`, with `exchange` held.
    private func dumpLocked(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        let maxAttempts = 5
        var attempt = 0
        let operation = request.entries.first?.operation ?? "netlink dump"
        while true {
            attempt += 1
            try send(request)
            // Until its NLMSG_DONE (or error) is read, the dump holds the socket.
            abandonedDump = request.entries.first?.sequence
            var messages: [NetlinkMessage] = []
            var interrupted = false
            var done = false
            let sequences = Set(request.entries.map(\.sequence))
            while !done {
                for message in try receive(operation: operation) ?? [] where sequences.contains(message.sequence) {
                    if message.flags & NetlinkFlags.dumpInterrupted != 0 { interrupted = true }
                    switch message.type {
                    case NetlinkMessageType.done:
                        done = true
                        abandonedDump = nil
                        let code = message.payload.count >= 4 ? Self.checkedCode(message.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }) : 0
                        if code < 0 {
                            // With NLM_F_ACK_TLVS, the kernel's text follows the errno.
                            let text = message.flags & NetlinkFlags.ackTLVs != 0 ? NetlinkAttributes(message.payload, from: 4)[1]?.string : nil
                            throw NetlinkError(errno: Errno(-code), operation: request.operation(for: message.sequence) ?? "netlink dump",
                                               kernelMessage: text, sequence: message.sequence)
                        }
                    case NetlinkMessageType.error:
                        // An error ends the dump as NLMSG_DONE would.
                        abandonedDump = nil
                        let (code, text) = Self.parseError(message)
                        if code != 0 {
                            throw NetlinkError(errno: Errno(-code), operation: request.operation(for: message.sequence) ?? "netlink dump",
                                               kernelMessage: text, sequence: message.sequence)
                        }
                        done = true
                    default:
                        messages.append(message)
                    }
                }
            }
            if !interrupted { return messages }
            if attempt >= maxAttempts {
                throw NetlinkError(errno: Errno(EINTR), operation: operation + ": interrupted \(maxAttempts) times by concurrent changes")
            }
        }
    }

    // MARK: - Plumbing

    private func send(_ request: NetlinkRequest) throws(NetlinkError) {
        if let abandonedDump { drainDump(abandonedDump) }
        growSendBuffer(toFit: request.bytes.count)
        while true {
            let sent = request.bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
            if sent == request.bytes.count { return }
            let operation = request.entries.first?.operation ?? "netlink send"
            guard sent < 0 else {
                // A datagram goes whole or not at all; errno says nothing about a short send.
                throw NetlinkError(errno: Errno(EMSGSIZE), operation: operation + ": the kernel took \(sent) of \(request.bytes.count) bytes")
            }
            let error = Errno.current
            // Interrupted before the kernel took the datagram (it handles a netlink request
            // within the call once it has it): sending again sends it once.
            if error.code == EINTR { continue }
            throw NetlinkError(errno: error, operation: operation)
        }
    }

    /// Reads out what is left of an abandoned dump (each read lets the kernel queue its next
    /// part) up to its end, without waiting: the socket is then free for the next request.
    private func drainDump(_ dumpSequence: UInt32) {
        abandonedDump = nil
        for _ in 0..<100_000 {
            guard let messages = try? receive(operation: "finish abandoned dump", waiting: false) else { return }
            if messages.contains(where: { $0.sequence == dumpSequence && ($0.type == NetlinkMessageType.done || $0.type == NetlinkMessageType.error) }) {
                return
            }
        }
    }

    /// The kernel refuses a datagram larger than the socket's send buffer (EMSGSIZE), and a
    /// large nftables batch must go in one `sendmsg` to stay one transaction: grow the buffer
    /// (SO_SNDBUFFORCE as root, else SO_SNDBUF up to wmem_max) when a request needs it.
    private func growSendBuffer(toFit size: Int) {
        guard size + 4096 > sendBufferSize else { return }
        var wanted = Int32(clamping: size + 65536)
        let fd = mnl_socket_get_fd(socket)
        if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &wanted, socklen_t(MemoryLayout<Int32>.size))
        }
        sendBufferSize = Int(wanted)
    }

    /// The kernel queues every answer to a `sendmsg` (acks, echoes) before Berth reads any,
    /// and drops what does not fit in the receive buffer (ENOBUFS) although it applied the
    /// request. Grows the buffer to hold `size` bytes of answers when it may not: with
    /// SO_RCVBUFFORCE (CAP_NET_ADMIN), else SO_RCVBUF up to net.core.rmem_max. Costs nothing
    /// when the answers fit (an attach's few acks and one echo: about 11 KiB).
    private func growReceiveBuffer(toHold size: Int) {
        guard size > receiveBudget, !receiveBudgetCapped else { return }
        let fd = mnl_socket_get_fd(socket)
        // The kernel doubles the value (room for its bookkeeping) and counts truesize
        // against the double: the answers' estimate itself leaves a margin of two.
        var wanted = Int32(clamping: size)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, socklen_t(MemoryLayout<Int32>.size))
        }
        let granted = Self.receiveBufferGranted(fd) ?? size
        receiveBudget = granted
        receiveBudgetCapped = granted < size
    }

    /// What the kernel counts against for the socket's receive queue (SO_RCVBUF read back).
    private static func receiveBufferGranted(_ fd: Int32) -> Int? {
        var granted: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) == 0 else { return nil }
        return Int(granted)
    }

    /// Reads one datagram from the kernel and returns its messages; nil when `waiting` is
    /// false and nothing is queued.
    ///
    /// Only the kernel answers requests: a datagram from another socket (another process of
    /// the namespace, with CAP_NET_ADMIN there, sending to this port) is dropped, as
    /// iproute2 does, so it cannot pass for an ack or a dump reply.
    private func receive(operation: String, waiting: Bool = true) throws(NetlinkError) -> [NetlinkMessage]? {
        let fd = mnl_socket_get_fd(socket)
        // MSG_TRUNC: the datagram's real length, to tell a truncated one.
        let flags = Int32(MSG_TRUNC) | (waiting ? 0 : Int32(MSG_DONTWAIT))
        while true {
            var sender = sockaddr_nl()
            var senderLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
            let count = receiveBuffer.withUnsafeMutableBytes { buffer in
                withUnsafeMutablePointer(to: &sender) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, flags, $0, &senderLength) }
                }
            }
            if count < 0 {
                let error = Errno.current
                if error.code == EINTR { continue }
                if !waiting, error.code == EAGAIN || error.code == EWOULDBLOCK { return nil }
                let what = error.code == EAGAIN ? ": no answer from the kernel within \(Self.receiveTimeoutSeconds) s" : ""
                throw NetlinkError(errno: error, operation: operation + what)
            }
            guard sender.nl_family == UInt16(AF_NETLINK), sender.nl_pid == 0 else { continue }
            guard count <= receiveBuffer.count else {
                throw NetlinkError(errno: Errno(EMSGSIZE), operation: operation + ": a \(count)-byte answer from the kernel did not fit in \(receiveBuffer.count) bytes")
            }
            // From the kernel, to this socket (subscribed to no group): its answers only.
            return receiveBuffer.withUnsafeBytes { bytes in NetlinkMessage.split(UnsafeRawBufferPointer(rebasing: bytes[..<count])) }
        }
    }

    /// Where `sequence` is in `sorted`, found by bisection; nil if it is not there.
    static func index(of sequence: UInt32, in sorted: [UInt32]) -> Int? {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < sequence { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == sequence ? low : nil
    }

    /// The errno of an NLMSG_ERROR or NLMSG_DONE as the kernel sends it (negative, or 0 for
    /// an ack), checked: what no kernel sends (a positive code, or `Int32.min`, whose negation
    /// traps) is EPROTO, so no reply can crash the caller.
    static func checkedCode(_ raw: Int32) -> Int32 {
        raw <= 0 && raw != .min ? raw : -EPROTO
    }

    /// The errno (negative, or 0 for an ack; `checkedCode`) and the extended-ack text of an
    /// NLMSG_ERROR.
    static func parseError(_ message: NetlinkMessage) -> (Int32, String?) {
        let payload = message.payload
        guard payload.count >= 4 else { return (-EPROTO, nil) }
        let code = checkedCode(payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        guard message.flags & NetlinkFlags.ackTLVs != 0, payload.count >= 20 else { return (code, nil) }
        // After the errno comes the offending message: its header only when capped.
        let echoedLength = payload.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
        let skip = message.flags & NetlinkFlags.capped != 0 ? 16 : echoedLength
        let text = NetlinkAttributes(payload, from: 4 + ((skip + 3) & ~3))[1]?.string
        return (code, text)
    }
}
