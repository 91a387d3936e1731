import BerthNamespace
import Foundation

/// Sends `bytes` zero bytes over one TCP connection from `client` to a listener in
/// `server` at `address:port`, and returns how long the receiver took from the connect to
/// the last byte, and how many bytes it got. For rate-limit tests: a token bucket of rate R
/// and burst b cannot deliver B bytes in less than (B - b) / R, so the duration has a lower
/// bound that only a missing limit can break.
public enum BulkTransfer {
    public struct Outcome: Sendable {
        public let received: Int
        public let duration: Duration
    }

    public static func run(from client: NetworkNamespace, to server: NetworkNamespace, address: String, port: UInt16,
                           bytes: Int) throws -> Outcome {
        let listener = try server.openSocket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        defer { close(listener) }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { throw SandboxError("bad address \(address)") }
        let bound = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 1) == 0 else { throw SandboxError("cannot listen on \(address):\(port): errno \(errno)") }

        let box = ReceiveBox()
        let receiver = Thread {
            let connection = accept(listener, nil, nil)
            if connection >= 0 {
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(connection, &buffer, buffer.count)
                    if n <= 0 { break }
                    box.received += n
                }
                box.end = ContinuousClock.now
                close(connection)
            }
            box.done.signal()
        }

        let sender = try client.openSocket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        defer { close(sender) }
        let start = ContinuousClock.now
        receiver.start()
        let connected = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sender, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else {
            shutdown(listener, Int32(SHUT_RDWR))
            box.done.wait()
            throw SandboxError("cannot connect to \(address):\(port): errno \(errno)")
        }
        let chunk = [UInt8](repeating: 0, count: 65536)
        var left = bytes
        while left > 0 {
            let n = chunk.withUnsafeBytes { write(sender, $0.baseAddress, min(left, $0.count)) }
            if n <= 0 { break }
            left -= n
        }
        shutdown(sender, Int32(SHUT_WR))
        box.done.wait()
        return Outcome(received: box.received, duration: (box.end ?? ContinuousClock.now) - start)
    }
}

private final class ReceiveBox: @unchecked Sendable {
    var received = 0
    var end: ContinuousClock.Instant?
    let done = DispatchSemaphore(value: 0)
}
