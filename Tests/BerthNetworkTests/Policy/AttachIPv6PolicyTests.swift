import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// Endpoints of dual-stack and IPv4-only networks against the fake kernel (issue 15): the
/// IPv6 lease, the container's IPv6 address (nodad) and default route, the IPv6 sysctls set
/// before the interface is up, and — on an IPv4-only network — no IPv6 on the interface.
@Suite("attach IPv6 policy (fake kernel)")
struct AttachIPv6PolicyTests {
    private func host(linkLocal: Bool = true) throws -> FakeHost {
        let kernel = FakeKernel()
        kernel.generatesLinkLocal = linkLocal
        return try FakeHost(kernel: kernel)
    }

    private func dualStack(_ host: FakeHost, _ name: String = "web", subnet: String = "10.88.0.0/24", ipv6Subnet: String = "fd00:beef::/64") throws {
        try host.manager.createNetwork(NetworkOptions(name: name, subnet: CIDR(parsing: subnet), bridge: try InterfaceName("br\(name)"),
                                                      ipv6Subnet: CIDR(parsing: ipv6Subnet)))
    }

    private func attach(_ host: FakeHost, _ namespace: String, to network: String = "web", id: String, ipv6: String? = nil) throws(BerthError) -> EndpointRecord {
        if host.kernel.state(named: namespace) == nil { host.kernel.addNamespace(namespace) }
        return try host.manager.attach(AttachOptions(network: network, namespace: .name(namespace), id: id,
                                                     ipv6Address: try ipv6.map { text throws(BerthError) in try IPv6Address(parsing: text) }))
    }

    @Test("an IPv4-only network's container interface has no IPv6 address at all, not even link-local: disable_ipv6 before it is up")
    func ipv4OnlyHasNoIPv6() throws {
        let host = try host()
        try host.network()
        let endpoint = try host.attach("ctr1", id: "e1")
        #expect(endpoint.ipv6Address == nil)
        let ctr = try host.namespace("ctr1")
        #expect(host.kernel.addresses(in: ctr).filter { $0.contains("eth0") } == ["10.88.0.2/24 dev eth0"])
        #expect(host.kernel.sysctls(in: ctr).contains("net/ipv6/conf/eth0/disable_ipv6=1"))
        #expect(!host.kernel.routes(in: ctr).contains { $0.contains(":") })
        // Written before the link went up: the write comes before any change in the namespace.
        #expect(host.kernel.sysctlWrites.contains("ctr1: net/ipv6/conf/eth0/disable_ipv6=1"))
    }

    @Test("a kernel without IPv6 still attaches IPv4 (the missing key is what was wanted); the host end's alias goes alone, without addrgenmode")
    func kernelWithoutIPv6() throws {
        let host = try host()
        host.kernel.ipv6Available = false
        try host.network()
        let mark = host.kernel.mark
        let endpoint = try host.attach("ctr1", id: "e1")
        #expect(endpoint.address?.description == "10.88.0.2")
        #expect(host.kernel.operations(since: mark).contains("host: set alias of \(endpoint.hostVeth)"))
    }

    @Test("an IPv4-only network: the host end gets addrgenmode none in its alias's message when the bridge shows IPv6 state, and not below IPv6's minimum MTU")
    func hostEndAddressGeneration() throws {
        let host = try host()
        try host.network()
        try host.network("small", subnet: "10.89.0.0/24", mtu: 1200)
        let mark = host.kernel.mark
        let endpoint = try host.attach("ctr1", id: "e1")
        let operations = host.kernel.operations(since: mark)
        #expect(operations.contains("host: set alias of \(endpoint.hostVeth) and addrgenmode none"), "\(operations)")
        #expect(!operations.contains { $0.contains("set addrgenmode") })
        #expect(host.kernel.links().first { $0.name == endpoint.hostVeth.rawValue }?.addressGenerationMode == 1)
        let small = host.kernel.mark
        let other = try host.attach("ctr2", to: "small", id: "e2")
        #expect(host.kernel.operations(since: small).contains("host: set alias of \(other.hostVeth)"))
    }

    @Test("a dual-stack endpoint: the lowest free IPv6 address with nodad, the IPv6 default route, accept_ra=0 inside and on the host veth, no link-local on the host veth")
    func dualStackEndpoint() throws {
        let host = try host()
        try dualStack(host)
        let endpoint = try attach(host, "ctr1", id: "e1")
        #expect(endpoint.address?.description == "10.88.0.2" && endpoint.ipv6Address?.description == "fd00:beef::2")
        let ctr = try host.namespace("ctr1")
        let inside = host.kernel.addresses(in: ctr).filter { $0.contains("eth0") }
        #expect(inside.contains("10.88.0.2/24 dev eth0") && inside.contains("fd00:beef::2/64 dev eth0 nodad"))
        #expect(host.kernel.routes(in: ctr).contains { $0.hasPrefix("default via fd00:beef::1 dev eth0") })
        #expect(host.kernel.sysctls(in: ctr).contains("net/ipv6/conf/eth0/accept_ra=0"))
        #expect(!host.kernel.sysctls(in: ctr).contains("net/ipv6/conf/eth0/disable_ipv6=1"))
        let veth = endpoint.hostVeth.rawValue
        #expect(host.kernel.link(veth)?.addressGenerationMode == 1)
        #expect(host.kernel.sysctls().contains("net/ipv6/conf/\(veth)/accept_ra=0"))
        // (Whether the host end then stays without a link-local address depends on carrier,
        // which the fake does not model: the kernel test checks it.)
        #expect(try host.manager.endpoint("e1") == endpoint)
        // The next endpoint takes the next address; a requested one is taken as asked.
        #expect(try attach(host, "ctr2", id: "e2").ipv6Address?.description == "fd00:beef::3")
        #expect(try attach(host, "ctr3", id: "e3", ipv6: "fd00:beef::10").ipv6Address?.description == "fd00:beef::10")
        #expect(host.kernel.addresses(in: try host.namespace("ctr3")).contains("fd00:beef::10/64 dev eth0 nodad"))
    }

    @Test("a bridge Berth makes for a network with IPv6 gets accept_dad=0 before it is up: its link-local is never tentative (the host solicits for a forwarded packet only from one that is not); an IPv4-only network's bridge keeps DAD")
    func bridgeWithoutDAD() throws {
        let host = try host()
        try dualStack(host)
        func linkLocal(_ bridge: String) -> [String] {
            host.kernel.addresses().filter { $0.hasPrefix("fe80::") && $0.contains(" dev \(bridge)") }
        }
        #expect(host.kernel.sysctls().contains("net/ipv6/conf/brweb/accept_dad=0"))
        #expect(linkLocal("brweb").count == 1 && linkLocal("brweb").allSatisfy { !$0.contains("tentative") }, "\(linkLocal("brweb"))")
        _ = try attach(host, "ctr1", id: "e1")
        #expect(linkLocal("brweb").count == 1 && linkLocal("brweb").allSatisfy { !$0.contains("tentative") }, "\(linkLocal("brweb"))")
        // A bridge set down and up by someone gets its link-local again, still without DAD.
        try host.handle.netlink.setDown(.name(InterfaceName("brweb")))
        try host.handle.netlink.setUp(.name(InterfaceName("brweb")))
        #expect(linkLocal("brweb").count == 1 && linkLocal("brweb").allSatisfy { !$0.contains("tentative") }, "\(linkLocal("brweb"))")
        // Nothing forwards IPv6 into an IPv4-only network: its bridge is left as the kernel makes it.
        try host.network("plain", subnet: "10.89.0.0/24")
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("accept_dad") && !$0.contains("brweb") })
    }

    @Test("detach releases the IPv6 lease with the IPv4 one")
    func detachReleases() throws {
        let host = try host()
        try dualStack(host)
        _ = try attach(host, "ctr1", id: "e1")
        try host.manager.detach(id: "e1")
        let again = try attach(host, "ctr2", id: "e2")
        #expect(again.address?.description == "10.88.0.2" && again.ipv6Address?.description == "fd00:beef::2")
    }

    @Test("a namespace on two dual-stack networks: the first keeps the IPv6 default route, the second's waits behind it at the next metric (no multipath), and takes over when the first is detached; a later one takes the default metric if it is free")
    func twoNetworks() throws {
        let host = try host()
        try dualStack(host)
        try dualStack(host, "db", subnet: "10.89.0.0/24", ipv6Subnet: "fd00:cafe::/64")
        try dualStack(host, "cache", subnet: "10.90.0.0/24", ipv6Subnet: "fd00:cace::/64")
        _ = try attach(host, "ctr1", id: "e1")
        let second = try host.manager.attach(AttachOptions(network: "db", namespace: .name("ctr1"), id: "e2", interfaceName: InterfaceName("eth1")))
        #expect(second.ipv6Address?.description == "fd00:cafe::2")
        let ctr1 = try host.namespace("ctr1")
        func defaults() -> [String] { host.kernel.routes(in: ctr1).filter { $0.hasPrefix("default via fd00") } }
        #expect(defaults() == ["default via fd00:beef::1 dev eth0", "default via fd00:cafe::1 dev eth1 metric 1025"])
        #expect(try host.manager.check().isEmpty)
        // The first network detached takes its route with its interface: the second's is left.
        try host.manager.detach(id: "e1")
        #expect(defaults() == ["default via fd00:cafe::1 dev eth1 metric 1025"])
        #expect(try host.manager.check().isEmpty)
        // A third finds the kernel's default metric free again and takes it (the route
        // dump is made only when that metric is taken).
        _ = try host.manager.attach(AttachOptions(network: "cache", namespace: .name("ctr1"), id: "e3", interfaceName: InterfaceName("eth2")))
        #expect(defaults() == ["default via fd00:cafe::1 dev eth1 metric 1025", "default via fd00:cace::1 dev eth2"])
        #expect(try host.manager.check().isEmpty)
        // A fourth, with 1024 taken, goes behind the highest metric there.
        try dualStack(host, "queue", subnet: "10.91.0.0/24", ipv6Subnet: "fd00:face::/64")
        _ = try host.manager.attach(AttachOptions(network: "queue", namespace: .name("ctr1"), id: "e4", interfaceName: InterfaceName("eth3")))
        #expect(defaults().last == "default via fd00:face::1 dev eth3 metric 1026")
        #expect(try host.manager.check().isEmpty)
    }

    static let badIPv6: [(String, Bool, String, BerthError.Code, [String])] = [
        ("outside the subnet", true, "fd00:cafe::2", .invalidArgument, ["IPv6 address fd00:cafe::2 is not inside subnet fd00:beef::/64 of network \"web\""]),
        ("the gateway", true, "fd00:beef::1", .conflict, ["IPv6 address fd00:beef::1 is the gateway of network \"web\""]),
        ("the anycast address", true, "fd00:beef::", .invalidArgument, ["fd00:beef:: is the subnet-router anycast address"]),
        ("taken", true, "fd00:beef::2", .conflict, ["IPv6 address fd00:beef::2", "is already leased to endpoint e1"]),
        ("on an IPv4-only network", false, "fd00:beef::2", .invalidArgument, ["network \"web\" has no IPv6 subnet: IPv6 address fd00:beef::2 cannot be given"]),
    ]

    @Test("bad IPv6 addresses are refused naming the value; nothing made, nothing recorded", arguments: badIPv6.indices)
    func badAddress(_ index: Int) throws {
        let (label, dual, address, code, fragments) = Self.badIPv6[index]
        let host = try host()
        if dual { try dualStack(host) } else { try host.network() }
        _ = try attach(host, "ctr1", id: "e1")
        host.kernel.addNamespace("ctr2")
        let before = host.kernel.snapshot()
        let error = refusal { _ = try attach(host, "ctr2", id: "e2", ipv6: address) }
        expect(error, code, fragments, parameter: "ipv6Address")
        #expect(host.kernel.snapshot() == before, "\(label)")
        #expect(try host.manager.endpoints().map(\.id) == ["e1"], "\(label)")
    }

    @Test("a failed dual-stack attach after the veth leaves nothing and leases nothing", arguments: ["attach.veth", "attach.configure", "attach.publish"])
    func rollsBack(point: String) throws {
        let host = try host()
        try dualStack(host)
        let ctr = host.kernel.addNamespace("ctr1")
        // An attach sets lo up and keeps it so when it fails (as on IPv4): up beforehand.
        try host.handle.netlink(in: ctr).setUp(.index(1))
        let before = host.kernel.snapshot()
        host.arm(point)
        _ = refusal { _ = try attach(host, "ctr1", id: "e1") }
        host.disarm()
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints().isEmpty)
        #expect(try attach(host, "ctr1", id: "e1").ipv6Address?.description == "fd00:beef::2")
    }
}
