import BerthCore
@testable import BerthDNS
import Foundation

/// A table source the test scripts: the table to serve, how many loads fail first, and a
/// pipe whose readability stands for "the table changed" (`poke`).
final class ScriptedTableSource: DNSTableSource, @unchecked Sendable {
    private let lock = NSLock()
    private var table: DNSTable
    private var failures = 0
    private var count = 0
    private let pipe: (read: Int32, write: Int32)

    init(_ table: DNSTable) {
        self.table = table
        var fds: [Int32] = [-1, -1]
        _ = Glibc.pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        pipe = (fds[0], fds[1])
    }

    deinit {
        close(pipe.read)
        close(pipe.write)
    }

    /// Serves `table` from the next successful load on, after `failing` loads that throw.
    func set(_ table: DNSTable, failing: Int = 0) {
        lock.lock(); defer { lock.unlock() }
        self.table = table
        failures = failing
    }

    /// How many times the server called `load`.
    var loads: Int { lock.lock(); defer { lock.unlock() }; return count }

    /// What the next `confirmExit` does instead of agreeing: a writer that changes the
    /// table between the server's load and its exit decision.
    private var exitDecision: (() -> Bool)?
    private var exitQuestions = 0

    /// Runs `decide` for the next `confirmExit` and answers with what it returns.
    func onNextExit(_ decide: @escaping () -> Bool) {
        lock.lock(); defer { lock.unlock() }
        exitDecision = decide
    }

    /// How many times the server asked `confirmExit`.
    var exitsAsked: Int { lock.lock(); defer { lock.unlock() }; return exitQuestions }

    func confirmExit() throws(BerthError) -> Bool {
        lock.lock()
        exitQuestions += 1
        let decide = exitDecision
        exitDecision = nil
        lock.unlock()
        return decide?() ?? true
    }

    /// Tells the server the table changed (as an inotify event would).
    func poke() {
        var byte: UInt8 = 1
        _ = write(pipe.write, &byte, 1)
    }

    func load() throws(BerthError) -> DNSTable {
        lock.lock(); defer { lock.unlock() }
        count += 1
        if failures > 0 {
            failures -= 1
            throw BerthError(.state, "scripted failure of load \(count)")
        }
        return table
    }

    var changeDescriptor: Int32? { pipe.read }

    func drainChanges() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        var changed = false
        while read(pipe.read, &buffer, buffer.count) > 0 { changed = true }
        return changed
    }
}

/// A `DNSServer` running on a thread of the test process, listening on loopback addresses
/// (127.0.0.0/8: every one of them is local, so each test takes its own block). Stopped by
/// serving an empty table (`exitWhenEmpty`), after which its statistics can be read.
final class InProcessServer: @unchecked Sendable {
    let server: DNSServer
    let source: ScriptedTableSource
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(table: DNSTable, configuration: DNSServerConfiguration) throws {
        var configuration = configuration
        configuration.exitWhenEmpty = true
        source = ScriptedTableSource(table)
        server = try DNSServer(configuration: configuration, source: source)
        let ready = DispatchSemaphore(value: 0)
        Thread { [self] in
            do {
                try server.run { ready.signal() }
            } catch {
                FileHandle.standardError.write(Data("in-process server: \(error)\n".utf8))
                ready.signal()
            }
            finished.signal()
        }.start()
        guard ready.wait(timeout: .now() + 10) == .success else { throw SandboxlessError("the in-process server did not start") }
    }

    deinit { stop() }

    /// Ends the server (an empty table) and waits for its thread; statistics are then safe to read.
    @discardableResult
    func stop() -> DNSServerStatistics {
        if !stopped {
            stopped = true
            source.set(DNSTable())
            source.poke()
            _ = finished.wait(timeout: .now() + 10)
        }
        return server.statistics
    }
}

/// A block of loopback addresses of its own for one test: `127.B.n.h`.
struct LoopbackBlock {
    let b: UInt8 = UInt8.random(in: 16...250)
    let port: UInt16 = UInt16.random(in: 20000...60000)

    func address(_ n: UInt8, _ h: UInt8) -> String { "127.\(b).\(n).\(h)" }
    func ip(_ n: UInt8, _ h: UInt8) -> IPAddress { .v4(IPv4Address(127, b, n, h)) }
    func subnet(_ n: UInt8) throws -> CIDR { try CIDR(parsing: "127.\(b).\(n).0/24") }

    /// A network `name` listening on 127.B.n.1 for 127.B.n.0/24.
    func zone(_ name: String, _ n: UInt8, endpoints: [DNSEndpointNames] = [], upstreams: [DNSUpstream]? = nil) throws -> DNSNetworkZone {
        DNSNetworkZone(name: name, listenAddresses: [ip(n, 1)], subnets: [try subnet(n)], endpoints: endpoints, upstreams: upstreams)
    }
}

/// Plain sockets on loopback, bound to a chosen source address.
enum Loopback {
    static func sockaddr4(_ address: String, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, address, &sa.sin_addr)
        return sa
    }

    static func bind(_ fd: Int32, _ address: String, _ port: UInt16 = 0) throws {
        var sa = sockaddr4(address, port)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw SandboxlessError("bind \(address):\(port): \(String(cString: strerror(errno)))") }
    }

    static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A UDP socket bound to `address` (port `port`, any when 0).
    static func udp(_ address: String, port: UInt16 = 0, timeout: Double = 2) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxlessError("socket: \(String(cString: strerror(errno)))") }
        setTimeout(fd, timeout)
        do { try bind(fd, address, port) } catch { close(fd); throw error }
        return fd
    }

    /// A listening TCP socket that never accepts: connections complete in the kernel's
    /// backlog and what they send is never read or answered.
    static func tcpListener(_ address: String, port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxlessError("socket: \(String(cString: strerror(errno)))") }
        do { try bind(fd, address, port) } catch { close(fd); throw error }
        listen(fd, 64)
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to address: String, _ port: UInt16) {
        var sa = sockaddr4(address, port)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
    }

    /// The next datagram, or nil at the socket's timeout.
    static func receive(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count >= 0 ? Array(buffer[..<count]) : nil
    }

    /// Asks `name` over UDP from `from` and returns the parsed answer (nil: none in time).
    static func ask(_ text: String, _ type: DNSRecordType = .a, from: String, to: String, _ port: UInt16, timeout: Double = 1) throws -> DNSMessage? {
        let fd = try udp(from, timeout: timeout)
        defer { close(fd) }
        let id = UInt16.random(in: 1...UInt16.max)
        send(fd, query(text, type, id: id).encoded(), to: to, port)
        guard let reply = receive(fd) else { return nil }
        let message = try DNSMessage(parsing: reply)
        return message.header.id == id ? message : nil
    }
}

/// A TCP connection from a chosen loopback source address.
final class LoopbackStream {
    let fd: Int32

    /// `receiveBuffer` and `maxSegment` (TCP_MAXSEG, advertised in the SYN) keep what the
    /// kernels hold for this connection small: on loopback's 64 KiB segments the server's
    /// send buffer would otherwise grow past a megabyte.
    init(from: String, to: String, _ port: UInt16, timeout: Double = 2, receiveBuffer: Int32? = nil, maxSegment: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxlessError("socket: \(String(cString: strerror(errno)))") }
        Loopback.setTimeout(fd, timeout)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        // TCP_MAXSEG is 2 (netinet/tcp.h, which the Glibc module leaves out).
        if var segment = maxSegment { setsockopt(fd, Int32(IPPROTO_TCP), 2, &segment, socklen_t(MemoryLayout<Int32>.size)) }
        try Loopback.bind(fd, from)
        var sa = Loopback.sockaddr4(to, port)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SandboxlessError("connect \(to):\(port): \(message)")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            offset += count
        }
    }

    func sendQuery(_ text: String, _ type: DNSRecordType = .a, id: UInt16) {
        send(DNSStreamFramer.frame(query(text, type, id: id).encoded()) ?? [])
    }

    /// The next frame; nil when the connection ended or nothing came in time.
    func readFrame() -> [UInt8]? {
        guard let length = read(2) else { return nil }
        return read(Int(length[0]) << 8 | Int(length[1]))
    }

    /// Asks `name` and returns the answer's id and answer count; nil when the connection is gone.
    func ask(_ text: String, id: UInt16) -> (id: UInt16, answers: Int)? {
        sendQuery(text, id: id)
        guard let frame = readFrame(), let message = try? DNSMessage(parsing: frame) else { return nil }
        return (message.header.id, message.answers.count)
    }

    /// Whether the server closed (or reset) the connection, looking without waiting long.
    func isClosedByPeer(within seconds: Double = 0.3) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(seconds * 1000)) > 0 else { return false }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    private func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            offset += n
        }
        return bytes
    }
}
