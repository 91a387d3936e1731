#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

extension DNSServer {
    /// Binds the listen addresses of the current table that have no sockets yet and
    /// closes those of addresses no longer in it. It binds every address it can and then
    /// throws naming those it could not (another process on the port, an address taken),
    /// so that the start or reload counts as failed and is tried again (`reload`): a
    /// network whose gateway has no socket would otherwise have every lookup time out,
    /// silently.
    func reconcileListeners() throws(BerthError) {
        let wanted = Set(resolver.zoneByListenAddress.keys)
        for address in listeners.keys where !wanted.contains(address) {
            closeListener(address)
        }
        var failures: [(IPAddress, BerthError)] = []
        for address in wanted.sorted() where listeners[address] == nil {
            do {
                listeners[address] = try openListener(address)
            } catch {
                failures.append((address, error))
            }
        }
        statistics.unboundAddresses = failures.count
        reportUnbound(failures.map(\.0))
        guard let first = failures.first?.1 else { return }
        let list = failures.map { "\($0.0) (\($0.1.message))" }.joined(separator: ", ")
        throw BerthError(first.code, "cannot listen on \(list)", cause: first.cause)
    }

    func closeListener(_ address: IPAddress) {
        guard let listener = listeners.removeValue(forKey: address) else { return }
        unregister(listener.udp)
        unregister(listener.tcp)
    }

    /// A UDP socket and a listening TCP socket on `address`, port `configuration.port`.
    private func openListener(_ address: IPAddress) throws(BerthError) -> Listener {
        let udp = try Self.boundSocket(address, port: configuration.port, type: SOCK_DGRAM)
        try register(udp, as: .udp(address))
        let tcp: Int32
        do throws(BerthError) {
            tcp = try Self.boundSocket(address, port: configuration.port, type: SOCK_STREAM)
            guard listen(tcp, 64) == 0 else {
                let error = BerthError.system("listen on \(address) port \(configuration.port)/tcp", .current)
                close(tcp)
                throw error
            }
            try register(tcp, as: .tcpListener(address))
        } catch {
            unregister(udp)
            throw error
        }
        return Listener(udp: udp, tcp: tcp)
    }

    /// A non-blocking socket bound to `address:port`. IP_FREEBIND lets it bind a gateway
    /// address that is not configured yet (a bridge being recreated), so a reload never
    /// depends on the order in which links come up.
    static func boundSocket(_ address: IPAddress, port: UInt16, type: __socket_type) throws(BerthError) -> Int32 {
        let kind = type == SOCK_DGRAM ? "udp" : "tcp"
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BerthError.system("open a \(kind) socket for \(address)", .current, privilege: "CAP_NET_BIND_SERVICE") }
        var one: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        if type == SOCK_STREAM { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, size) }
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, size)
            setsockopt(fd, Int32(IPPROTO_IPV6), Int32(IPV6_FREEBIND), &one, size)
        } else {
            setsockopt(fd, Int32(IPPROTO_IP), IP_FREEBIND, &one, size)
        }
        let socketAddress = SocketAddress(address: address, port: port)
        let rc = socketAddress.withSockaddr { bind(fd, $0, $1) }
        guard rc == 0 else {
            let errno = Errno.current
            close(fd)
            if errno.code == EADDRINUSE {
                throw BerthError(.conflict, "port \(port)/\(kind) on \(address) is already in use by another process", cause: errno)
            }
            throw BerthError.system("bind \(socketAddress)/\(kind)", errno, privilege: "CAP_NET_BIND_SERVICE")
        }
        return fd
    }
}
