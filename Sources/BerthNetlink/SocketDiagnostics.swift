internal import CMNL
public import BerthCore
public import BerthNamespace

/// A socket bound on the host: what stands in the way of publishing its port.
public struct BoundSocket: Sendable, Hashable, CustomStringConvertible {
    /// The socket's protocol (tcp or udp).
    public var proto: TransportProtocol
    /// The local address it is bound to (`0.0.0.0` or `::` for every address).
    public var address: IPAddress
    /// The local port.
    public var port: UInt16
    /// The socket's inode, to find the process that holds it.
    public var inode: UInt32

    public var description: String {
        address.family == .ipv6 ? "\(proto) [\(address)]:\(port)" : "\(proto) \(address):\(port)"
    }
}

/// The listening TCP and bound UDP sockets of a namespace, through sock_diag (inet_diag).
///
/// Much cheaper than reading /proc/net/tcp, which walks the whole connection hash table
/// (milliseconds even when empty): a dump restricted to the LISTEN state walks only the
/// listening hash.
///
/// Safe for concurrent use, like its transport (`NetlinkTransport`).
public final class SocketDiagnostics: Sendable {
    private let transport: any NetlinkTransport

    /// Opens a sock_diag socket in `namespace` (the caller's when nil).
    public init(namespace: NetworkNamespace? = nil) throws(BerthError) {
        transport = try NetlinkSocket(.socketDiagnostics, in: namespace)
    }

    /// Queries through `transport` (a sock_diag socket, or a test double).
    public init(transport: any NetlinkTransport) {
        self.transport = transport
    }

    /// TCP sockets in LISTEN and every bound, unconnected UDP socket, IPv4 and IPv6.
    public func boundSockets() throws(BerthError) -> [BoundSocket] {
        var sockets: [BoundSocket] = []
        for family in Self.families {
            sockets += try dump(family: family.0, familyCode: family.1, proto: .tcp)
            sockets += try dump(family: family.0, familyCode: family.1, proto: .udp)
        }
        return sockets
    }

    /// The sockets of one protocol that hold a port, IPv4 and IPv6: TCP sockets in LISTEN,
    /// or every bound, unconnected UDP socket; none for other protocols. A UDP dump walks the kernel's
    /// whole UDP hash table, which is sized from the machine's memory, so a caller that
    /// publishes only TCP ports asks for TCP alone.
    public func boundSockets(_ proto: TransportProtocol) throws(BerthError) -> [BoundSocket] {
        guard proto == .tcp || proto == .udp else { return [] }
        var sockets: [BoundSocket] = []
        for family in Self.families {
            sockets += try dump(family: family.0, familyCode: family.1, proto: proto)
        }
        return sockets
    }

    private static let families = [(IPFamily.ipv4, UInt8(AF_INET)), (.ipv6, UInt8(AF_INET6))]

    private func dump(family: IPFamily, familyCode: UInt8, proto: TransportProtocol) throws(BerthError) -> [BoundSocket] {
        var header = inet_diag_req_v2()
        // TCP: only sockets in LISTEN (the listening hash alone is walked). UDP: only bound,
        // unconnected sockets (TCP_CLOSE, 7), which receive whatever comes to their port; a
        // connected one (TCP_ESTABLISHED, a client's DNS or NTP socket on an ephemeral port)
        // receives only its peer's replies, which conntrack keeps from any DNAT, and must not
        // make a publish of that port fail now and then.
        let states: UInt32 = proto == .tcp ? 1 << 10 : 1 << 7
        header.sdiag_family = familyCode
        header.sdiag_protocol = proto.ipProtocolNumber
        header.idiag_states = states
        var request = NetlinkRequest()
        let sequence = transport.nextSequence()
        try request.append(type: UInt16(SOCK_DIAG_BY_FAMILY), flags: NetlinkFlags.dump, sequence: sequence,
                           operation: "list \(proto) sockets (\(family))", acknowledged: false) { b in
            b.putFamilyHeader(header)
        }
        let messages: [NetlinkMessage]
        do {
            messages = try transport.dump(request)
        } catch {
            throw error.berthError
        }
        let headerSize = MemoryLayout<inet_diag_msg>.size
        return messages.compactMap { message -> BoundSocket? in
            guard message.payload.count >= headerSize else { return nil }
            return message.payload.withUnsafeBytes { raw -> BoundSocket? in
                let msg = raw.loadUnaligned(as: inet_diag_msg.self)
                let port = UInt16(bigEndian: msg.id.idiag_sport)
                let words = withUnsafeBytes(of: msg.id.idiag_src) { Array($0) }
                let bytes = family == .ipv4 ? Array(words.prefix(4)) : words
                guard var address = IPAddress(bytes: bytes) else { return nil }
                // A v4-mapped address on an IPv6 socket is reached over IPv4.
                if case .v6(let v6) = address, v6.value >> 32 == 0xFFFF { address = .v4(IPv4Address(UInt32(truncatingIfNeeded: v6.value))) }
                return BoundSocket(proto: proto, address: address, port: port, inode: msg.idiag_inode)
            }
        }
    }
}
