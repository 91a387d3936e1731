import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation

/// A tiny authoritative server for `.test` names, standing in for the host's upstream
/// resolver. It records every question it gets, so tests can prove what was never forwarded.
///
/// - `fwd.test` A: 198.51.100.7
/// - `big.test` A: 60 addresses, cut to the client's payload size over UDP (TC), whole over TCP
/// - `huge.test` A: 150 addresses over UDP whatever the client said (a misbehaving server)
/// - `fail.test`: SERVFAIL; `silent.test`: no answer at all; anything else: NXDOMAIN
final class TestUpstream: @unchecked Sendable {
    static let forwardedAddress = IPv4Address(198, 51, 100, 7)

    private let udp: Int32
    private let tcp: Int32
    private let lock = NSLock()
    private var stopped = false
    private var questions: [(name: String, tcp: Bool)] = []
    private var payloadSizes: [UInt16?] = []
    private let finished = DispatchSemaphore(value: 0)

    init(in namespace: NetworkNamespace, address: String, port: UInt16 = 53) throws {
        udp = try namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        tcp = try namespace.openSocket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        var one: Int32 = 1
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = try DNSClient.address4(address, port)
        for fd in [udp, tcp] {
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { throw SandboxError("test upstream: bind \(address):\(port): \(String(cString: strerror(errno)))") }
        }
        listen(tcp, 16)
        Thread { [self] in serve(); finished.signal() }.start()
    }

    deinit { stop() }

    func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        lock.unlock()
        finished.wait()
        close(udp)
        close(tcp)
    }

    /// The names asked so far, lower case with a trailing dot, and over which transport.
    var asked: [(name: String, tcp: Bool)] { lock.lock(); defer { lock.unlock() }; return questions }

    /// The EDNS UDP payload size of each query received, in order (nil: no EDNS).
    var askedPayloadSizes: [UInt16?] { lock.lock(); defer { lock.unlock() }; return payloadSizes }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isStopped {
            var fds = [pollfd(fd: udp, events: Int16(POLLIN), revents: 0), pollfd(fd: tcp, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 50) > 0 else { continue }
            if fds[0].revents != 0 {
                var peer = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, &buffer, buffer.count, 0, $0, &length) } }
                if count > 0, let reply = answer(Array(buffer[..<count]), overTCP: false) {
                    _ = reply.withUnsafeBytes { raw in
                        withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, raw.baseAddress, raw.count, 0, $0, length) } }
                    }
                }
            }
            if fds[1].revents != 0 {
                let connection = accept(tcp, nil, nil)
                guard connection >= 0 else { continue }
                DNSClient.setTimeout(connection, 2)
                var length: [UInt8] = [0, 0]
                if recv(connection, &length, 2, Int32(MSG_WAITALL)) == 2 {
                    let size = Int(length[0]) << 8 | Int(length[1])
                    var message = [UInt8](repeating: 0, count: size)
                    if recv(connection, &message, size, Int32(MSG_WAITALL)) == size, let reply = answer(message, overTCP: true),
                       let frame = DNSStreamFramer.frame(reply) {
                        _ = frame.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    }
                }
                close(connection)
            }
        }
    }

    private func answer(_ bytes: [UInt8], overTCP: Bool) -> [UInt8]? {
        guard let query = try? DNSMessage(parsing: bytes), let question = query.questions.first else { return nil }
        let name = question.name.lowercased().description
        lock.lock(); questions.append((name, overTCP)); payloadSizes.append(query.edns?.udpPayloadSize); lock.unlock()
        var response = query.responseSkeleton(code: .noError, payloadSize: 4096)
        response.header.recursionAvailable = true
        var limit = overTCP ? 65535 : query.senderPayloadSize
        func addresses(_ count: Int) -> [DNSRecord] {
            (0..<count).map { DNSRecord(name: question.name, ttl: 30, data: .a(IPv4Address(198, 51, 100, UInt8($0 + 1)))) }
        }
        switch name {
        case "fwd.test.": response.answers = [DNSRecord(name: question.name, ttl: 30, data: .a(Self.forwardedAddress))]
        case "big.test.": response.answers = addresses(60)
        case "huge.test.":
            response.answers = addresses(150)
            limit = 65535
        case "fail.test.": response.responseCode = .serverFailure
        case "silent.test.": return nil
        default: response.responseCode = .nameError
        }
        return response.encoded(maxSize: limit)
    }
}
