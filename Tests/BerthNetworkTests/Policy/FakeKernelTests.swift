import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// The fake kernel answers BerthNetlink's own requests the way the kernel does: the policy
/// tests are only as good as this.
@Suite("fake kernel")
struct FakeKernelTests {
    @Test("a veth whose peer is born in another namespace: each end sees the other, and deleting one deletes both")
    func vethAcrossNamespaces() throws {
        let kernel = FakeKernel()
        let ctr = kernel.addNamespace("ctr")
        let host = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        let bridge = try host.netlink.createBridge(named: InterfaceName("br0"), up: true)
        let veth = try host.netlink.createVeth(named: InterfaceName("vb0"), peer: InterfaceName("eth0"), peerNamespace: ctr,
                                               master: .index(bridge.index), up: true, mtu: 1400)
        let inside = try host.netlink(in: ctr)
        let peer = try inside.link(named: "eth0")
        #expect(veth.peerIndex == peer.index && veth.linkNetNSID != nil && veth.masterIndex == bridge.index)
        #expect(peer.kind == .veth && !peer.isUp && peer.mtu == 1400)
        #expect(try host.netlink.links().map(\.name) == ["lo", "br0", "vb0"])
        try inside.deleteLink(.name(InterfaceName("eth0")))
        #expect(try host.netlink.links().map(\.name) == ["lo", "br0"])
    }

    @Test("the kernel's refusals: EEXIST, ENODEV, ENETDOWN and ENETUNREACH, each naming the operation")
    func refusals() throws {
        let kernel = FakeKernel()
        let host = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        let dummy = try host.netlink.createLink(named: InterfaceName("d0"), kind: .other("dummy"))
        let duplicate = #expect(throws: BerthError.self) { try host.netlink.createLink(named: InterfaceName("d0"), kind: .other("dummy")) }
        #expect(duplicate?.code == .alreadyExists)
        let missing = #expect(throws: BerthError.self) { try host.netlink.deleteLink(.name(InterfaceName("nope"))) }
        #expect(missing?.code == .notFound)
        let down = #expect(throws: BerthError.self) { try host.netlink.addRoute(to: CIDR(parsing: "10.9.0.0/16"), device: .index(dummy.index)) }
        #expect(down?.code == .kernel && "\(down!)".contains("Network is down"))
        try host.netlink.setUp(.index(dummy.index))
        try host.netlink.addAddress(CIDR(parsing: "192.0.2.1/24"), to: .index(dummy.index))
        let unreachable = #expect(throws: BerthError.self) { try host.netlink.addRoute(to: nil, via: .v4(IPv4Address(198, 51, 100, 1))) }
        #expect("\(unreachable!)".contains("add route default via 198.51.100.1"))
        try host.netlink.addRoute(to: nil, via: .v4(IPv4Address(192, 0, 2, 254)))
        let again = #expect(throws: BerthError.self) { try host.netlink.addRoute(to: nil, via: .v4(IPv4Address(192, 0, 2, 253))) }
        #expect(again?.code == .alreadyExists)
        #expect(kernel.routes() == ["192.0.2.0/24 dev d0 proto kernel scope link src 192.0.2.1", "default via 192.0.2.254 dev d0"])
    }

    @Test("sock_diag dumps list the bound sockets of the namespace, by family and protocol")
    func socketDiagnostics() throws {
        let kernel = FakeKernel()
        try kernel.bind(.tcp, "0.0.0.0", 80)
        try kernel.bind(.udp, "127.0.0.1", 53)
        try kernel.bind(.tcp, "::", 443)
        let host = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        let sockets = try host.socketDiagnostics.boundSockets().map(\.description)
        #expect(sockets == ["tcp 0.0.0.0:80", "udp 127.0.0.1:53", "tcp [::]:443"])
    }

    @Test("namespaces open by name, path and pid to the same namespace, and stop opening once destroyed")
    func namespaces() throws {
        let kernel = FakeKernel()
        let made = kernel.addNamespace("ctr", pid: 77)
        #expect(try kernel.openNamespace(.name("ctr")) == made)
        #expect(try kernel.openNamespace(.pid(77)) == made)
        #expect(try kernel.openNamespace(.path("/proc/self/ns/net")) == kernel.host)
        #expect(try kernel.openNamespace(.name("ctr")).description == "ctr")
        kernel.destroyNamespace(made)
        let gone = #expect(throws: BerthError.self) { try kernel.openNamespace(.name("ctr")) }
        #expect(gone?.code == .notFound)
    }
}
