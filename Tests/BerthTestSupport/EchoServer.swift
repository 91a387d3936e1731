import BerthNamespace
import Foundation
import Testing

/// Transport of a probe.
public enum ProbeProtocol: Sendable { case tcp, udp }

/// A tiny server inside a namespace for reachability tests. Each request is answered with
/// `"<banner> <peer-address> <payload>"`, so a test sees who answered, which source address
/// the server saw (NAT checks), and that the bytes went through.
public final class EchoServer: @unchecked Sendable {
    public let port: UInt16
    private let fd: Int32
    private let proto: ProbeProtocol
    private let banner: String
    private let stopped = NSLock()
    private var isStopped = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on `address:port` inside `namespace`: IPv4, or IPv6 for an address with a
    /// ':' (`::` for every IPv6 address), IPv6-only so a v4 server may share the port.
    public init(in namespace: NetworkNamespace, address: String = "0.0.0.0", port: UInt16, protocol proto: ProbeProtocol = .tcp, banner: String) throws {
        self.port = port
        self.proto = proto
        self.banner = banner
        let sa = try SocketAddress(address, port: port)
        fd = try namespace.openSocket(domain: sa.family, type: Int32(proto == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), protocol: 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if sa.family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let rc = sa.withSockaddr { bind(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SandboxError("bind \(address):\(port): \(String(cString: strerror(e)))") }
        if proto == .tcp { listen(fd, 16) }
        let t = Thread { [self] in serve(); finished.signal() }
        thread = t
        t.start()
    }

    deinit { stop() }

    /// Stops serving and closes the socket.
    public func stop() {
        stopped.lock()
        if isStopped { stopped.unlock(); return }
        isStopped = true
        stopped.unlock()
        finished.wait()
        close(fd)
    }

    private var shouldStop: Bool { stopped.lock(); defer { stopped.unlock() }; return isStopped }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !shouldStop {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            var peer = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            if proto == .tcp {
                let conn = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(fd, $0, &len) } }
                guard conn >= 0 else { continue }
                var tv = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                let n = read(conn, &buffer, buffer.count)
                let payload = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
                let reply = Array("\(banner) \(Self.text(peer)) \(payload)".utf8)
                _ = reply.withUnsafeBytes { write(conn, $0.baseAddress, $0.count) }
                close(conn)
            } else {
                let n = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &len) } }
                guard n >= 0 else { continue }
                let payload = String(decoding: buffer[..<n], as: UTF8.self)
                let reply = Array("\(banner) \(Self.text(peer)) \(payload)".utf8)
                _ = reply.withUnsafeBytes { raw in
                    withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, len) } }
                }
            }
        }
    }

    static func text(_ sa: sockaddr_storage) -> String { SocketAddress.text(sa) }
}

/// Client side of a probe: one request from inside a namespace.
public enum Probe {
    /// Sends `payload` to `address:port` (IPv4, or IPv6 with a ':') from inside `namespace`
    /// and returns the reply, or throws when nothing answers within `timeout` seconds.
    /// `sourcePort` pins the client's port (for conntrack tests).
    public static func request(from namespace: NetworkNamespace, to address: String, port: UInt16, protocol proto: ProbeProtocol = .tcp,
                               payload: String = "ping", timeout: Double = 2, sourcePort: UInt16? = nil) throws -> String {
        let sa = try SocketAddress(address, port: port)
        let fd = try namespace.openSocket(domain: sa.family, type: Int32(proto == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), protocol: 0)
        defer { close(fd) }
        if let sourcePort {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let local = try SocketAddress(sa.family == AF_INET6 ? "::" : "0.0.0.0", port: sourcePort)
            _ = local.withSockaddr { bind(fd, $0, $1) }
        }
        // A datagram is sent again every quarter second until `timeout`, as a UDP client
        // retries: a fresh bridge drops packets until the kernel's linkwatch (which runs
        // non-urgent events at most once a second, host-wide) has activated its queue,
        // where TCP's SYN retransmission covers the same gap.
        let attempts = proto == .udp ? max(1, Int((timeout / 0.25).rounded(.up))) : 1
        let slice = timeout / Double(attempts)
        var tv = timeval(tv_sec: Int(slice), tv_usec: Int((slice - Double(Int(slice))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = sa.withSockaddr { connect(fd, $0, $1) }
        guard rc == 0 else { throw ProbeError(stage: "connect", address: address, port: port, code: errno) }
        let bytes = Array(payload.utf8)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var reply: [UInt8] = []
        var failure: Int32 = 0
        for _ in 0..<attempts where reply.isEmpty {
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { reply += buffer[..<n]; if proto == .udp { break } else { continue } }
                failure = n == 0 ? 0 : errno
                break
            }
        }
        if reply.isEmpty { throw ProbeError(stage: "reply", address: address, port: port, code: failure) }
        return String(decoding: reply, as: UTF8.self)
    }

    /// What a probe that must get no answer expects instead.
    public enum Silence: Sendable, CustomStringConvertible {
        /// Dropped: nothing comes back until the timeout.
        case dropped
        /// Refused: a TCP reset or an ICMP unreachable (ECONNREFUSED), as from a port
        /// nothing listens on.
        case refused
        public var description: String { self == .dropped ? "dropped (a timeout)" : "refused (ECONNREFUSED)" }
    }

    /// Expects `request` to get no answer, in the way `silence` says; records an issue on a
    /// reply and on any other failure (no route, a closed connection, a socket error), which
    /// would otherwise pass as "no answer". Returns whether it went as expected.
    @discardableResult
    public static func expectNoReply(_ silence: Silence, from namespace: NetworkNamespace, to address: String, port: UInt16,
                                     protocol proto: ProbeProtocol = .tcp, payload: String = "ping", timeout: Double = 1,
                                     _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let context = comment.map { ": \($0)" } ?? ""
        do {
            let reply = try request(from: namespace, to: address, port: port, protocol: proto, payload: payload, timeout: timeout)
            Issue.record("\(address):\(port) answered \(reply.debugDescription), expected it \(silence)\(context)", sourceLocation: sourceLocation)
            return false
        } catch let error as ProbeError {
            let matches = switch silence {
            case .dropped: error.timedOut
            case .refused: error.refused
            }
            if !matches { Issue.record("\(error), expected it \(silence)\(context)", sourceLocation: sourceLocation) }
            return matches
        } catch {
            Issue.record("the probe failed: \(error)\(context)", sourceLocation: sourceLocation)
            return false
        }
    }
}

/// Why a probe got no answer: the step and the errno (0: the peer closed without a reply).
public struct ProbeError: Error, CustomStringConvertible {
    public let stage: String
    public let address: String
    public let port: UInt16
    public let code: Int32

    /// Nothing came back in time: a connect that the send timeout cut short (EINPROGRESS),
    /// or a receive timeout.
    public var timedOut: Bool { [EINPROGRESS, ETIMEDOUT, EAGAIN, EWOULDBLOCK].contains(code) }
    /// A reset or an ICMP port unreachable.
    public var refused: Bool { code == ECONNREFUSED }

    public var description: String {
        let reason = code == 0 ? "closed without a reply" : String(cString: strerror(code))
        return stage == "connect" ? "connect \(address):\(port): \(reason)" : "no reply from \(address):\(port) (\(reason))"
    }
}
