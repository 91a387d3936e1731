import BerthCore
import BerthNamespace
import BerthTestSupport
@testable import BerthDNS
import Foundation

/// Queries from inside a namespace (a container's or a LAN peer's), over UDP or TCP.
enum DNSClient {
    /// Sends one datagram and returns the first reply, or nil when none comes within `timeout`.
    static func udp(_ bytes: [UInt8], from namespace: NetworkNamespace, to address: String, port: UInt16 = 53,
                    timeout: Double = 2) throws -> [UInt8]? {
        let fd = try namespace.openSocket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        defer { close(fd) }
        setTimeout(fd, timeout)
        var target = try address4(address, port)
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard sent == bytes.count else { throw SandboxError("send to \(address):\(port): \(String(cString: strerror(errno)))") }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count >= 0 ? Array(buffer[..<count]) : nil
    }

    /// Asks `name` over UDP and parses the answer.
    static func ask(_ name: String, _ type: DNSRecordType = .a, from namespace: NetworkNamespace, to address: String,
                    edns: DNSEDNS? = nil, timeout: Double = 2) throws -> DNSMessage? {
        let id = UInt16.random(in: 1...UInt16.max)
        guard let reply = try udp(query(name, type, id: id, edns: edns).encoded(), from: namespace, to: address, timeout: timeout) else { return nil }
        let message = try DNSMessage(parsing: reply)
        guard message.header.id == id else { throw SandboxError("reply with id \(message.header.id), asked \(id)") }
        return message
    }

    /// Asks `name` over a fresh TCP connection and parses the answer.
    static func askTCP(_ name: String, _ type: DNSRecordType = .a, from namespace: NetworkNamespace, to address: String) throws -> DNSMessage? {
        let stream = try TCPStream(from: namespace, to: address)
        try stream.send(DNSStreamFramer.frame(query(name, type).encoded()) ?? [])
        return try stream.readFrame().map { try DNSMessage(parsing: $0) }
    }

    static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func address4(_ address: String, _ port: UInt16) throws -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &sa.sin_addr) == 1 else { throw SandboxError("bad IPv4 address \(address)") }
        return sa
    }
}

/// A TCP connection from inside a namespace, for DNS over TCP by hand.
final class TCPStream {
    let fd: Int32

    init(from namespace: NetworkNamespace, to address: String, port: UInt16 = 53, timeout: Double = 2) throws {
        fd = try namespace.openSocket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        DNSClient.setTimeout(fd, timeout)
        var target = try DNSClient.address4(address, port)
        let rc = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SandboxError("connect \(address):\(port): \(message)")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw SandboxError("TCP send: \(String(cString: strerror(errno)))") }
            offset += count
        }
    }

    /// The next frame's message; nil when the server closed the connection (or reset it,
    /// or said nothing before the timeout).
    func readFrame() throws -> [UInt8]? {
        guard let length = read(2) else { return nil }
        return read(Int(length[0]) << 8 | Int(length[1]))
    }

    /// Whether the server has closed the connection: a read that ends the stream.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
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
