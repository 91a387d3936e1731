#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CMNL
public import BerthCore
public import BerthNamespace

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
/// Not for concurrent use: one request at a time. Create one per task or guard it.
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

    /// The socket's file descriptor, owned by this object (closed with it).
    public var descriptor: Int32 { mnl_socket_get_fd(socket) }
    private var sequence: UInt32
    private var receiveBuffer: [UInt8]
    /// What the send buffer was last grown to (the kernel default is about 208 KiB).
    private var sendBufferSize = 200_000
    /// The largest datagram read at once (dumps come in several).
    private static let receiveBufferSize = 65536
    /// How long to wait for the kernel before giving up; a safety net, never hit normally.
    private static let receiveTimeoutSeconds = 30

    /// Opens a socket on `bus` inside `namespace` (the caller's namespace if nil), after
    /// writing `sysctls` there from the same namespace thread (none without a namespace).
    public init(_ bus: Bus, in namespace: NetworkNamespace? = nil, writing sysctls: [SysctlWrite] = []) throws(BerthError) {
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
        var bufferSize: Int32 = 1 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferSize, socklen_t(MemoryLayout<Int32>.size))

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

    public func nextSequence() -> UInt32 {
        sequence &+= 1
        if sequence == 0 { sequence = 1 }
        return sequence
    }

    // MARK: - Requests

    public func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
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
        while pending > 0 {
            for message in try receive(request) {
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
        return replies
    }

    public func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        let maxAttempts = 5
        var attempt = 0
        while true {
            attempt += 1
            try send(request)
            var messages: [NetlinkMessage] = []
            var interrupted = false
            var done = false
            let sequences = Set(request.entries.map(\.sequence))
            while !done {
                for message in try receive(request) where sequences.contains(message.sequence) {
                    if message.flags & NetlinkFlags.dumpInterrupted != 0 { interrupted = true }
                    switch message.type {
                    case NetlinkMessageType.done:
                        done = true
                        let code = message.payload.count >= 4 ? message.payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : 0
                        if code < 0 {
                            throw NetlinkError(errno: Errno(-code), operation: request.operation(for: message.sequence) ?? "netlink dump", sequence: message.sequence)
                        }
                    case NetlinkMessageType.error:
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
                throw NetlinkError(errno: Errno(EINTR), operation: (request.entries.first?.operation ?? "netlink dump") + ": interrupted \(maxAttempts) times by concurrent changes")
            }
        }
    }

    // MARK: - Plumbing

    private func send(_ request: NetlinkRequest) throws(NetlinkError) {
        growSendBuffer(toFit: request.bytes.count)
        let sent = request.bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent == request.bytes.count else {
            throw NetlinkError(errno: .current, operation: request.entries.first?.operation ?? "netlink send")
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

    private func receive(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        while true {
            let count = receiveBuffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if count < 0 {
                let error = Errno.current
                if error.code == EINTR { continue }
                let what = error.code == EAGAIN ? ": no answer from the kernel within \(Self.receiveTimeoutSeconds) s" : ""
                throw NetlinkError(errno: error, operation: (request.entries.first?.operation ?? "netlink receive") + what)
            }
            return receiveBuffer.withUnsafeBytes { NetlinkMessage.split(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
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

    /// The errno (negative, or 0 for an ack) and the extended-ack text of an NLMSG_ERROR.
    static func parseError(_ message: NetlinkMessage) -> (Int32, String?) {
        let payload = message.payload
        guard payload.count >= 4 else { return (-EPROTO, nil) }
        let code = payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
        guard message.flags & NetlinkFlags.ackTLVs != 0, payload.count >= 20 else { return (code, nil) }
        // After the errno comes the offending message: its header only when capped.
        let echoedLength = payload.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) }
        let skip = message.flags & NetlinkFlags.capped != 0 ? 16 : echoedLength
        let text = NetlinkAttributes(payload, from: 4 + ((skip + 3) & ~3))[1]?.string
        return (code, text)
    }
}
