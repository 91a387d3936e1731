import Foundation

/// An IPv4 or IPv6 socket address for the test servers and probes: text with a ':' is
/// IPv6, anything else IPv4. No zones (`fe80::1%eth0`): an interface index would be looked
/// up in the caller's namespace, not in the one the socket is opened in.
struct SocketAddress {
    let storage: sockaddr_storage
    let length: socklen_t
    let family: Int32

    init(_ address: String, port: UInt16) throws {
        var storage = sockaddr_storage()
        if address.contains(":") {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &sa.sin6_addr) == 1 else { throw SandboxError("bad IPv6 address \(address)") }
            withUnsafeBytes(of: sa) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &sa.sin_addr) == 1 else { throw SandboxError("bad IPv4 address \(address)") }
            withUnsafeBytes(of: sa) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        self.storage = storage
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    /// The address part of a peer's `sockaddr_storage`, as `inet_ntop` prints it.
    static func text(_ peer: sockaddr_storage) -> String {
        var peer = peer
        var buffer = [CChar](repeating: 0, count: 64)
        if Int32(peer.ss_family) == AF_INET6 {
            withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sa in
                var addr = sa.pointee.sin6_addr
                _ = inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
            } }
        } else {
            withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sa in
                var addr = sa.pointee.sin_addr
                _ = inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
            } }
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
