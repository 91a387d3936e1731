import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

/// sock_diag against the kernel: which sockets hold a port a publish would take.
@Suite("SocketDiagnostics (kernel)", .enabled(if: try KernelTests.enabled))
struct SocketDiagnosticsKernelTests {
    @Test("bound sockets: a TCP listener and an unconnected UDP socket hold their ports; a connected UDP client socket does not")
    func boundSockets() throws {
        try withHostSandbox { sandbox in
            let listenerUDP = try Self.socket(sandbox, Int32(SOCK_DGRAM.rawValue), port: 47001)
            defer { close(listenerUDP) }
            // A client's socket (DNS, NTP) on a port of its own, connected to its peer.
            let client = try Self.socket(sandbox, Int32(SOCK_DGRAM.rawValue), port: 47002, connectTo: 47001)
            defer { close(client) }
            let listenerTCP = try Self.socket(sandbox, Int32(SOCK_STREAM.rawValue), port: 47003)
            defer { close(listenerTCP) }
            #expect(listen(listenerTCP, 1) == 0)

            let found = Set(try SocketDiagnostics(namespace: sandbox.namespace).boundSockets().map(\.description))
            #expect(found.contains("udp 127.0.0.1:47001"), "\(found)")
            #expect(found.contains("tcp 127.0.0.1:47003"), "\(found)")
            #expect(!found.contains("udp 127.0.0.1:47002"), "a connected client socket is no listener: \(found)")
            let udp = Set(try SocketDiagnostics(namespace: sandbox.namespace).boundSockets(.udp).map(\.description))
            #expect(udp == ["udp 127.0.0.1:47001"], "\(udp)")
        }
    }

    /// A socket of `type` in the sandbox bound to 127.0.0.1:`port`, connected to
    /// 127.0.0.1:`connectTo` if given.
    private static func socket(_ sandbox: HostSandbox, _ type: Int32, port: UInt16, connectTo peer: UInt16? = nil) throws -> Int32 {
        let fd = try sandbox.namespace.openSocket(domain: AF_INET, type: type, protocol: 0)
        func address(_ port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            return address
        }
        var local = address(port)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { close(fd); throw SandboxError("bind to port \(port): errno \(errno)") }
        if let peer {
            var remote = address(peer)
            let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { close(fd); throw SandboxError("connect to port \(peer): errno \(errno)") }
        }
        return fd
    }
}
