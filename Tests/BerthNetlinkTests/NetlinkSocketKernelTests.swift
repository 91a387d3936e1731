#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthNamespace
@testable import BerthNetlink
import BerthTestSupport
import Testing

/// The transport itself against the kernel: answers that overflow the receive buffer, and
/// answers that do not come from the kernel.
@Suite("NetlinkSocket (kernel)", .enabled(if: try KernelTests.enabled))
struct NetlinkSocketKernelTests {
    @Test("1,500 alias changes on a socket with a small receive buffer are all applied and acknowledged, not ENOBUFS")
    func manyAcksOverflowNoMore() throws {
        try withHostSandbox { sandbox in
            // 16 KiB asked, 32 KiB granted: what a default host's 416 KiB is to a batch of
            // about 500 acks, this is to a few dozen.
            let socket = try NetlinkSocket(.route, in: sandbox.namespace, writing: [], receiveBufferSize: 16384)
            let netlink = RouteNetlink(transport: socket, namespace: sandbox.namespace)
            let bridge = try netlink.createBridge(named: InterfaceName("br0"))
            try netlink.apply { changes throws(BerthError) in
                for n in 0..<1500 { try changes.setAlias(.index(bridge.index), to: "alias \(n)") }
            }
            #expect(try netlink.link(index: bridge.index).alias == "alias 1499")
        }
    }

    @Test("an ack forged by another socket of the namespace is not taken for the kernel's: deleting a missing link is notFound")
    func forgedAckIgnored() throws {
        try withHostSandbox { sandbox in
            let victim = try NetlinkSocket(.route, in: sandbox.namespace)
            let forger = try NetlinkSocket(.route, in: sandbox.namespace)
            // The victim's next request will carry the sequence number after this one.
            let next = victim.nextSequence() &+ 1
            // NLMSG_ERROR with errno 0 (an ack), capped, to the victim's port.
            var forged: [UInt8] = []
            for word in [UInt32(36)] { forged += withUnsafeBytes(of: word.littleEndian, Array.init) }
            forged += withUnsafeBytes(of: UInt16(2).littleEndian, Array.init) + withUnsafeBytes(of: UInt16(0x100).littleEndian, Array.init)
            forged += withUnsafeBytes(of: next.littleEndian, Array.init) + withUnsafeBytes(of: victim.portID.littleEndian, Array.init)
            forged += [UInt8](repeating: 0, count: 4)  // errno 0
            forged += withUnsafeBytes(of: UInt32(16).littleEndian, Array.init) + withUnsafeBytes(of: UInt16(17).littleEndian, Array.init)  // RTM_DELLINK
            forged += withUnsafeBytes(of: UInt16(5).littleEndian, Array.init) + withUnsafeBytes(of: next.littleEndian, Array.init)
            forged += withUnsafeBytes(of: victim.portID.littleEndian, Array.init)
            // sockaddr_nl { AF_NETLINK, pad, the victim's port, no groups }
            var address: [UInt8] = withUnsafeBytes(of: UInt16(AF_NETLINK).littleEndian, Array.init) + [0, 0]
            address += withUnsafeBytes(of: victim.portID.littleEndian, Array.init) + [0, 0, 0, 0]
            let sent = forged.withUnsafeBytes { message in
                address.withUnsafeBytes { raw in
                    sendto(forger.descriptor, message.baseAddress, message.count, 0,
                           raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                }
            }
            #expect(sent == forged.count)
            let netlink = RouteNetlink(transport: victim, namespace: sandbox.namespace)
            let missing = try InterfaceName("nosuch0")
            do throws(BerthError) {
                try netlink.deleteLink(.name(missing))
                Issue.record("the forged ack was taken for the kernel's")
            } catch {
                #expect(error.code == .notFound)
            }
            // The socket is not thrown off by what it dropped: the next request works.
            #expect(try netlink.link(index: 1).name == "lo")
        }
    }

    @Test("a dump left halfway is read out before the next request: the next dump is not refused EBUSY")
    func abandonedDumpReadOut() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            // Enough links that a dump of them takes several datagrams.
            try netlink.apply { changes throws(BerthError) in
                for n in 0..<150 { try changes.createBridge(named: InterfaceName("bd\(n)")) }
            }
            func abandon(_ socket: NetlinkSocket) -> UInt32 {
                // RTM_GETLINK with NLM_F_DUMP, sent and never read: the kernel queues the
                // first part and keeps the dump running.
                let sequence = socket.nextSequence()
                var bytes = withUnsafeBytes(of: UInt32(32).littleEndian, Array.init) + withUnsafeBytes(of: UInt16(18).littleEndian, Array.init)
                bytes += withUnsafeBytes(of: UInt16(0x301).littleEndian, Array.init) + withUnsafeBytes(of: sequence.littleEndian, Array.init)
                bytes += [UInt8](repeating: 0, count: 4 + 16)
                var request = NetlinkRequest()
                request.append(rawMessage: bytes, sequence: sequence, operation: "list links", expectsAck: false)
                _ = try? socket.transact(request)
                return sequence
            }
            // What the kernel does to an unmarked abandoned dump: the next one is EBUSY.
            let unmarked = try NetlinkSocket(.route, in: sandbox.namespace)
            _ = abandon(unmarked)
            do throws(BerthError) {
                _ = try RouteNetlink(transport: unmarked, namespace: sandbox.namespace).links()
                Issue.record("the kernel took a second dump while the first ran")
            } catch {
                #expect((error.cause as? NetlinkError)?.errno.code == EBUSY)
            }

            let socket = try NetlinkSocket(.route, in: sandbox.namespace)
            socket.abandonedDump = abandon(socket)
            let links = try RouteNetlink(transport: socket, namespace: sandbox.namespace).links()
            #expect(links.count == 151)
        }
    }

    @Test("an answer too big to read after the request went out is 'outcome unknown', not a refusal: the kernel made the link")
    func unreadableAnswerIsOutcomeUnknown() throws {
        try withHostSandbox { sandbox in
            let socket = try NetlinkSocket(.route, in: sandbox.namespace)
            // Room for an ack, not for the created link's echo (over 1 KiB).
            socket.receiveBuffer = [UInt8](repeating: 0, count: 256)
            let netlink = RouteNetlink(transport: socket, namespace: sandbox.namespace)
            do throws(BerthError) {
                try netlink.createBridge(named: InterfaceName("brbig"))
                Issue.record("the echo fitted in 256 bytes")
            } catch {
                let cause = error.cause as? NetlinkError
                #expect(cause?.errno.code == EMSGSIZE)
                #expect(cause?.outcomeUnknown == true, "\(error)")
                #expect(error.outcomeIsUnknown)
            }
            let fresh = try RouteNetlink(namespace: sandbox.namespace)
            #expect(try fresh.link(named: "brbig").kind == .bridge)
        }
    }

    @Test("an error about a link in a handle's namespace names that namespace, for the front end's advice")
    func errorObjectNamesTheNamespace() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let netlink = try RouteNetlink(namespace: target)
            let missing = #expect(throws: BerthError.self) { try netlink.setUp(.named("nosuch0")) }
            #expect(missing?.code == .notFound)
            #expect(missing?.object?.namespace == target.description && target.name != nil, "\(String(describing: missing?.object))")
            #expect(missing?.object?.kind == .link && missing?.object?.name.contains("nosuch0") == true)
        }
    }

    @Test("answers lost past a buffer that cannot grow make an 'outcome unknown' error, not a refusal; the kernel applied everything")
    func lostAnswersAreOutcomeUnknown() throws {
        try withHostSandbox { sandbox in
            let socket = try NetlinkSocket(.route, in: sandbox.namespace, writing: [], receiveBufferSize: 16384)
            // A host where the buffer may not grow (no CAP_NET_ADMIN, a low rmem_max).
            socket.receiveBudgetCapped = true
            let netlink = RouteNetlink(transport: socket, namespace: sandbox.namespace)
            let bridge = try netlink.createBridge(named: InterfaceName("br0"))
            var changes = NetlinkChanges(handle: netlink)
            for n in 0..<1500 { try changes.setAlias(.index(bridge.index), to: "alias \(n)") }
            // Straight to the socket, in one sendmsg, as an nftables batch goes.
            let request = changes.request
            do throws(NetlinkError) {
                _ = try socket.transact(request)
                Issue.record("1,500 acks fit in 32 KiB")
            } catch {
                #expect(error.outcomeUnknown && error.errno.code == ENOBUFS)
                #expect(error.berthError.message.contains("outcome unknown"))
            }
            #expect(try netlink.link(index: bridge.index).alias == "alias 1499")
            // The socket still works for the next request.
            try netlink.setAlias(.index(bridge.index), to: "after")
            #expect(try netlink.link(index: bridge.index).alias == "after")
        }
    }
}
