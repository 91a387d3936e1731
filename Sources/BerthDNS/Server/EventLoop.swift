#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace
internal import CBerthDNS

/// An epoll set, level-triggered. Each registration carries a 64-bit token chosen by the
/// caller, so an event for a descriptor closed and reused within one batch can be told apart.
final class EventLoop {
    let descriptor: Int32
    private var events: [epoll_event]

    struct Ready {
        let token: UInt64
        var readable: Bool
        var writable: Bool
        /// Error or hang-up: the descriptor's owner must look at it.
        var failed: Bool
    }

    init(capacity: Int = 128) throws(BerthError) {
        descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard descriptor >= 0 else { throw BerthError.system("create an epoll set", .current) }
        events = [epoll_event](repeating: epoll_event(), count: capacity)
    }

    deinit { close(descriptor) }

    private func control(_ operation: Int32, _ fd: Int32, token: UInt64, readable: Bool, writable: Bool) throws(BerthError) {
        var event = epoll_event()
        event.events = (readable ? EPOLLIN.rawValue : 0) | (writable ? EPOLLOUT.rawValue : 0)
        event.data.u64 = token
        guard epoll_ctl(descriptor, operation, fd, &event) == 0 else {
            throw BerthError.system("register descriptor \(fd) with epoll", .current)
        }
    }

    func add(_ fd: Int32, token: UInt64, readable: Bool = true, writable: Bool = false) throws(BerthError) {
        try control(EPOLL_CTL_ADD, fd, token: token, readable: readable, writable: writable)
    }

    func modify(_ fd: Int32, token: UInt64, readable: Bool, writable: Bool) throws(BerthError) {
        try control(EPOLL_CTL_MOD, fd, token: token, readable: readable, writable: writable)
    }

    /// Removes `fd`; closing it would too, but only once every duplicate is closed.
    func remove(_ fd: Int32) {
        epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, nil)
    }

    /// Waits up to `timeout` milliseconds (-1: forever) and returns what is ready.
    func wait(timeout: Int32) -> [Ready] {
        let count = events.withUnsafeMutableBufferPointer { buffer in
            epoll_wait(descriptor, buffer.baseAddress, Int32(buffer.count), timeout)
        }
        guard count > 0 else { return [] }
        return (0..<Int(count)).map { index in
            let event = events[index]
            return Ready(token: event.data.u64,
                         readable: event.events & EPOLLIN.rawValue != 0,
                         writable: event.events & EPOLLOUT.rawValue != 0,
                         failed: event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0)
        }
    }
}

/// The signals the server handles, delivered through a signalfd so that they arrive as
/// events of the loop instead of interrupting it.
final class SignalDescriptor {
    let descriptor: Int32

    enum Signal {
        case reload, terminate, statistics, other
    }

    /// The signals the signalfd takes.
    static var handled: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGHUP, SIGTERM, SIGINT, SIGUSR1] { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the handled signals for the calling thread; the ones that arrive meanwhile
    /// stay pending until a signalfd reads them.
    static func block() throws(BerthError) {
        var set = handled
        guard pthread_sigmask(SIG_BLOCK, &set, nil) == 0 else { throw BerthError.system("block signals", .current) }
    }

    /// Blocks SIGHUP, SIGTERM, SIGINT and SIGUSR1 for the calling thread (the process must
    /// not have started other threads, which would still take them) and opens the signalfd.
    init() throws(BerthError) {
        try Self.block()
        var set = Self.handled
        descriptor = signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        guard descriptor >= 0 else { throw BerthError.system("open a signalfd", .current) }
        // A peer that closes a TCP connection mid-answer must not kill the resolver.
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { close(descriptor) }

    /// The signals that arrived since the last call.
    func drain() -> [Signal] {
        var result: [Signal] = []
        var info = signalfd_siginfo()
        while read(descriptor, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGHUP: result.append(.reload)
            case SIGTERM, SIGINT: result.append(.terminate)
            case SIGUSR1: result.append(.statistics)
            default: result.append(.other)
            }
        }
        return result
    }
}

