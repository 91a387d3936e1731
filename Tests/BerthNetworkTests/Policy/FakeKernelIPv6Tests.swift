import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// The fake kernel's IPv6, held to what scripts/facts/ipv6 proved on the kernel: policy
/// tests of dual-stack networks are only as good as this.
@Suite("fake kernel IPv6")
struct FakeKernelIPv6Tests {
    private func setUp(linkLocal: Bool = false) throws -> (FakeKernel, HostHandle, NetworkNamespace, RouteNetlink, Int32) {
        let kernel = FakeKernel()
        kernel.generatesLinkLocal = linkLocal
        let ctr = kernel.addNamespace("ctr")
        let host = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        let bridge = try host.netlink.createBridge(named: InterfaceName("br0"), up: true)
        _ = try host.netlink.createVeth(named: InterfaceName("vb0"), peer: InterfaceName("eth0"), peerNamespace: ctr,
                                        master: .index(bridge.index), up: true)
        let inside = try host.netlink(in: ctr)
        return (kernel, host, ctr, inside, try inside.link(named: "eth0").index)
    }

    @Test("an address without nodad stays tentative; with nodad it is not; the prefix route comes with the link up")
    func dad() throws {
        let (kernel, _, ctr, inside, eth0) = try setUp()
        try inside.addAddress(CIDR(parsing: "fd00:1::2/64"), to: .index(eth0))
        try inside.addAddress(CIDR(parsing: "fd00:1::3/64"), to: .index(eth0), flags: .noDAD)
        #expect(kernel.addresses(in: ctr) == ["fd00:1::2/64 dev eth0 tentative", "fd00:1::3/64 dev eth0 nodad"])
        #expect(kernel.routes(in: ctr).isEmpty)
        try inside.setUp(.index(eth0))
        #expect(kernel.routes(in: ctr) == ["fd00:1::/64 dev eth0 proto kernel metric 256"])
        let listed = try inside.addresses(of: .index(eth0), family: .ipv6)
        #expect(listed.map(\.flags.description) == ["tentative permanent", "nodad permanent"])
    }

    @Test("with accept_dad=0 on the link an address without nodad is not tentative")
    func acceptDADOff() throws {
        let (kernel, _, ctr, inside, eth0) = try setUp()
        #expect(try kernel.setSysctl("net/ipv6/conf/eth0/accept_dad", to: "0", in: ctr))
        try inside.addAddress(CIDR(parsing: "fd00:1::2/64"), to: .index(eth0))
        #expect(kernel.addresses(in: ctr) == ["fd00:1::2/64 dev eth0"])
    }

    @Test("a link that comes up gets a link-local address, unless its addrgenmode is none (set first) or IPv6 is off on it")
    func linkLocal() throws {
        let (kernel, host, ctr, inside, eth0) = try setUp(linkLocal: true)
        try inside.setUp(.index(eth0))
        #expect(kernel.addresses(in: ctr).count == 1 && kernel.addresses(in: ctr)[0].hasPrefix("fe80::"))
        // Through DAD, as any address without nodad: tentative while accept_dad is on.
        #expect(kernel.addresses(in: ctr)[0].hasSuffix(" tentative"), "\(kernel.addresses(in: ctr))")
        #expect(kernel.routes(in: ctr) == ["fe80::/64 dev eth0 proto kernel metric 256"])
        // The same with addrgenmode none sent before the up, in one sendmsg.
        let other = kernel.addNamespace("other")
        _ = try host.netlink.createVeth(named: InterfaceName("vb1"), peer: InterfaceName("eth0"), peerNamespace: other, up: true)
        let otherInside = try host.netlink(in: other)
        let otherEth0 = try otherInside.link(named: "eth0").index
        try otherInside.apply { changes throws(BerthError) in
            try changes.setAddressGenerationMode(.index(otherEth0), .none)
            try changes.setUp(.index(otherEth0))
        }
        #expect(kernel.addresses(in: other).isEmpty)
        #expect(try kernel.sysctl("net/ipv6/conf/eth0/addr_gen_mode", in: other) == "1")
        // disable_ipv6 written before the up: nothing, and no address can be added.
        let third = kernel.addNamespace("third")
        _ = try host.netlink.createVeth(named: InterfaceName("vb2"), peer: InterfaceName("eth0"), peerNamespace: third, up: true)
        #expect(try kernel.setSysctl("net/ipv6/conf/eth0/disable_ipv6", to: "1", in: third))
        let thirdInside = try host.netlink(in: third)
        try thirdInside.setUp(.name(InterfaceName("eth0")))
        #expect(kernel.addresses(in: third).isEmpty)
        let refused = #expect(throws: BerthError.self) {
            try thirdInside.addAddress(CIDR(parsing: "fd00:1::2/64"), to: .name(InterfaceName("eth0")), flags: .noDAD)
        }
        #expect(refused?.code == .unsupported)
        #expect(refused?.message == "IPv6 is disabled on eth0 in network namespace third")
        // Off by default: tests that do not look at IPv6 see only what they made.
        #expect(FakeKernel().generatesLinkLocal == false)
    }

    @Test("a link set down loses its IPv6 addresses and keeps its IPv4 ones")
    func downDropsIPv6() throws {
        let (kernel, host, _, _, _) = try setUp()
        try host.netlink.addAddress(CIDR(parsing: "fd00:1::1/64"), to: .name(InterfaceName("br0")), flags: .noDAD)
        try host.netlink.addAddress(CIDR(parsing: "10.1.0.1/24"), to: .name(InterfaceName("br0")))
        try host.netlink.setDown(.name(InterfaceName("br0")))
        try host.netlink.setUp(.name(InterfaceName("br0")))
        #expect(kernel.addresses() == ["127.0.0.1/8 dev lo", "10.1.0.1/24 dev br0"])
    }

    @Test("a second IPv6 default route: refused, kept with keepIfExists, joined into a multipath route with appendIfExists")
    func secondDefaultRoute() throws {
        let (kernel, host, ctr, inside, eth0) = try setUp()
        _ = try host.netlink.createVeth(named: InterfaceName("vb1"), peer: InterfaceName("eth1"), peerNamespace: ctr, up: true)
        let eth1 = try inside.link(named: "eth1").index
        try inside.apply { changes throws(BerthError) in
            try changes.setUp(.index(eth0))
            try changes.setUp(.index(eth1))
            try changes.addAddress(CIDR(parsing: "fd00:1::2/64"), to: .index(eth0), flags: .noDAD)
            try changes.addAddress(CIDR(parsing: "fd00:2::2/64"), to: .index(eth1), flags: .noDAD)
            try changes.addRoute(to: nil, via: IPAddress(parsing: "fd00:1::1"), device: .index(eth0))
        }
        let refused = #expect(throws: BerthError.self) { try inside.addRoute(to: nil, via: IPAddress(parsing: "fd00:2::1"), device: .index(eth1)) }
        #expect(refused?.code == .alreadyExists)
        try inside.apply { changes throws(BerthError) in
            try changes.addRoute(to: nil, via: IPAddress(parsing: "fd00:2::1"), device: .index(eth1), keepIfExists: true)
        }
        #expect(kernel.routes(in: ctr).filter { $0.hasPrefix("default") } == ["default via fd00:1::1 dev eth0"])
        try inside.apply { changes throws(BerthError) in
            try changes.addRoute(to: nil, via: IPAddress(parsing: "fd00:2::1"), device: .index(eth1), appendIfExists: true)
        }
        #expect(kernel.routes(in: ctr).filter { $0.hasPrefix("default") }
                == ["default via fd00:1::1 dev eth0 (multipath)", "default via fd00:2::1 dev eth1 (multipath)"])
    }

    @Test("IPv6 off by default for new links: a bridge made then inherits disable_ipv6 and takes no IPv6 address")
    func disabledByDefault() throws {
        let kernel = FakeKernel()
        kernel.presetSysctl("net/ipv6/conf/default/disable_ipv6", "1")
        let host = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        _ = try host.netlink.createBridge(named: InterfaceName("br0"), up: true)
        #expect(try host.sysctl("net/ipv6/conf/br0/disable_ipv6") == "1")
        let refused = #expect(throws: BerthError.self) {
            try host.netlink.addAddress(CIDR(parsing: "fd00:1::1/64"), to: .name(InterfaceName("br0")), flags: .noDAD)
        }
        #expect(refused?.code == .unsupported)
        try host.netlink.addAddress(CIDR(parsing: "10.1.0.1/24"), to: .name(InterfaceName("br0")))
    }

    @Test("a kernel without IPv6 (ipv6.disable=1): no net/ipv6 sysctls; IPv6 addresses and addrgenmode refused")
    func noIPv6() throws {
        let (kernel, host, _, inside, eth0) = try setUp()
        kernel.ipv6Available = false
        let missing = #expect(throws: BerthError.self) { try host.sysctl("net/ipv6/conf/br0/accept_ra") }
        #expect(missing?.code == .notFound)
        let address = #expect(throws: BerthError.self) { try inside.addAddress(CIDR(parsing: "fd00:1::2/64"), to: .index(eth0), flags: .noDAD) }
        #expect(address?.code == .unsupported)
        let mode = #expect(throws: BerthError.self) { try inside.setAddressGenerationMode(.index(eth0), .none) }
        #expect(mode?.code == .unsupported)
        #expect(mode?.message == "IPv6 is not available on link #\(eth0) in network namespace ctr")
        #expect(try host.sysctl("net/ipv4/ip_forward") == "0")
    }

    @Test("writing all/disable_ipv6=1 sets default and every link, and drops their IPv6 addresses")
    func disableAll() throws {
        let (kernel, host, _, _, _) = try setUp()
        try host.netlink.addAddress(CIDR(parsing: "fd00:1::1/64"), to: .name(InterfaceName("br0")), flags: .noDAD)
        #expect(try host.setSysctl("net/ipv6/conf/all/disable_ipv6", to: "1"))
        #expect(try host.sysctl("net/ipv6/conf/default/disable_ipv6") == "1")
        #expect(try host.sysctl("net/ipv6/conf/br0/disable_ipv6") == "1")
        #expect(!kernel.addresses().contains { $0.contains("fd00:1::1") })
    }
}
