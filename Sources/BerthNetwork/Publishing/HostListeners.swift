import BerthCore
import BerthNetlink

/// Sockets bound on the host (through sock_diag), so that publishing a port a host process
/// already listens on is refused with the process's name.
struct HostListeners {
    /// The protocol whose sockets these are.
    let proto: TransportProtocol
    private(set) var listeners: [BoundSocket] = []

    /// Reads the host namespace's sockets of one protocol (TCP: listening; UDP: bound).
    static func read(from host: HostHandle, proto: TransportProtocol) throws(BerthError) -> HostListeners {
        HostListeners(proto: proto, listeners: try host.socketDiagnostics.boundSockets(proto))
    }

    /// The first socket that would take traffic for `proto` `address:port`: bound to that
    /// port on the same address, or either side is a wildcard of the address's family. A
    /// socket on `[::]` counts for IPv4 too: unless it set IPV6_V6ONLY (which sock_diag does
    /// not say) it takes IPv4 traffic as well.
    func conflict(proto: TransportProtocol, address: IPAddress, port: UInt16) -> BoundSocket? {
        listeners.first { listener in
            guard listener.proto == proto, listener.port == port else { return false }
            if listener.address.family != address.family { return listener.address == .v6(.any) }
            return listener.address == address || listener.address.isUnspecified || address.isUnspecified
        }
    }
}
