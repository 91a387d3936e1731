#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore

/// An IPv4 or IPv6 socket address, as the socket calls take and fill it.
struct SocketAddress: CustomStringConvertible {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    /// An empty address for `recvfrom` and `accept` to fill.
    init() {}

    init(address: IPAddress, port: UInt16) {
        withUnsafeMutableBytes(of: &storage) { raw in
            switch address {
            case .v4(let v4):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr.s_addr = v4.value.bigEndian
                withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
            case .v6(let v6):
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: v6.bytes) }
                withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
            }
        }
        length = socklen_t(address.family == .ipv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    var family: Int32 { Int32(storage.ss_family) }

    /// The IP address, for AF_INET and AF_INET6; an IPv4-mapped IPv6 address reads as IPv4.
    var ipAddress: IPAddress? {
        withUnsafeBytes(of: storage) { raw -> IPAddress? in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let sin = raw.loadUnaligned(as: sockaddr_in.self)
                return .v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr)))
            case AF_INET6:
                let sin6 = raw.loadUnaligned(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
                if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                    return IPAddress(bytes: bytes[12...])
                }
                return IPAddress(bytes: bytes)
            default:
                return nil
            }
        }
    }

    var port: UInt16 {
        withUnsafeBytes(of: storage) { raw -> UInt16 in
            switch Int32(storage.ss_family) {
            case AF_INET: UInt16(bigEndian: raw.loadUnaligned(as: sockaddr_in.self).sin_port)
            case AF_INET6: UInt16(bigEndian: raw.loadUnaligned(as: sockaddr_in6.self).sin6_port)
            default: 0
            }
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// Calls `body` with a mutable `sockaddr` pointer and length, for calls that fill it.
    mutating func withMutableSockaddr<T>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> T) -> T {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                withUnsafeMutablePointer(to: &length) { body(address, $0) }
            }
        }
    }

    var description: String {
        guard let address = ipAddress else { return "(family \(family))" }
        return address.family == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
