import BerthCore
import BerthNamespace
import BerthNetlink

/// A netlink socket of the fake kernel, bound to one namespace and bus: it records each
/// request, answers rtnetlink, sock_diag and ctnetlink as the kernel would, and — like the
/// kernel — goes on after a refused message and reports the first refusal.
final class FakeTransport: NetlinkTransport, @unchecked Sendable {
    private let kernel: FakeKernel
    private let state: FakeNamespaceState
    private let bus: NetlinkSocket.Bus
    private var sequence: UInt32 = 0

    init(kernel: FakeKernel, state: FakeNamespaceState, bus: NetlinkSocket.Bus) {
        self.kernel = kernel
        self.state = state
        self.bus = bus
    }

    func nextSequence() -> UInt32 {
        sequence += 1
        return sequence
    }

    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        kernel.record(request, bus: bus, in: state)
        var replies: [NetlinkMessage] = []
        var first: NetlinkError?
        for message in WireMessage.split(request.bytes) {
            let operation = request.operation(for: message.sequence) ?? "netlink request"
            do throws(Refusal) {
                if let errno = kernel.refusal(for: operation) { throw Refusal(errno) }
                replies += try answer(message)
            } catch {
                if first == nil, !request.tolerates(error.errno, sequence: message.sequence) {
                    first = NetlinkError(errno: Errno(error.errno), operation: operation, sequence: message.sequence)
                }
            }
        }
        if let first { throw first }
        return replies
    }

    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        kernel.record(request, bus: bus, in: state)
        var replies: [NetlinkMessage] = []
        for message in WireMessage.split(request.bytes) {
            let operation = request.operation(for: message.sequence) ?? "netlink dump"
            do throws(Refusal) {
                if let errno = kernel.refusal(for: operation) { throw Refusal(errno) }
                replies += try answer(message)
            } catch {
                throw NetlinkError(errno: Errno(error.errno), operation: operation, sequence: message.sequence)
            }
        }
        return replies
    }

    private func answer(_ message: WireMessage) throws(Refusal) -> [NetlinkMessage] {
        switch bus {
        case .route:
            switch message.type {
            case RTM.newLink: return try kernel.newLink(message, in: state)
            case RTM.delLink: return try kernel.deleteLink(message, in: state)
            case RTM.getLink: return try kernel.getLink(message, in: state)
            case RTM.newAddr: return try kernel.newAddress(message, in: state)
            case RTM.delAddr: return try kernel.deleteAddress(message, in: state)
            case RTM.getAddr: return try kernel.getAddresses(message, in: state)
            case RTM.newRoute: return try kernel.newRoute(message, in: state)
            case RTM.delRoute: return try kernel.deleteRoute(message, in: state)
            case RTM.getRoute: return try kernel.getRoutes(message, in: state)
            default: throw Refusal(FakeErrno.notSupported)
            }
        case .socketDiagnostics:
            guard message.type == 20 else { throw Refusal(FakeErrno.notSupported) }  // SOCK_DIAG_BY_FAMILY
            return try boundSockets(message)
        case .netfilter:
            // ctnetlink: the table is empty, so a dump lists nothing and a delete finds nothing.
            switch message.type {
            case 0x101: return []  // IPCTNL_MSG_CT_GET
            case 0x102: throw Refusal(FakeErrno.noEntry)  // IPCTNL_MSG_CT_DELETE
            default: throw Refusal(FakeErrno.notSupported)
            }
        }
    }

    /// inet_diag_msg replies for the sockets of the requested family, protocol and states.
    private func boundSockets(_ message: WireMessage) throws(Refusal) -> [NetlinkMessage] {
        guard message.body.count >= 8 else { throw Refusal(FakeErrno.invalid) }
        let family: IPFamily = message.body[0] == 10 ? .ipv6 : .ipv4
        let proto = message.body[1]
        let states = Wire.u32(message.body, 4)
        return state.sockets.compactMap { socket in
            guard socket.proto.ipProtocolNumber == proto, socket.address.family == family else { return nil }
            let tcpState: UInt8 = socket.proto == .tcp ? 10 : 7  // TCP_LISTEN; a bound UDP socket is TCP_CLOSE
            guard states & (1 << UInt32(tcpState)) != 0 else { return nil }
            var body = [UInt8](repeating: 0, count: 72)
            body[0] = message.body[0]
            body[1] = tcpState
            body.replaceSubrange(4..<6, with: Wire.be16(socket.port))
            let address = socket.address.bytes
            body.replaceSubrange(8..<(8 + address.count), with: address)
            body.replaceSubrange(68..<72, with: Wire.le32(socket.inode))
            return Wire.message(type: 20, sequence: message.sequence, body: body)
        }
    }
}
