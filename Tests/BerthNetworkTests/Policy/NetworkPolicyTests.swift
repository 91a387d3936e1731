import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// `createNetwork` and `removeNetwork` against the fake kernel: what they make, what they
/// refuse, and that a failure at any step leaves the kernel, the firewall and the state as
/// they were.
@Suite("network policy (fake kernel)")
struct NetworkPolicyTests {
    /// A host with a LAN interface (192.0.2.1/24 on lan0), a route 10.50.0.0/16 via
    /// 192.0.2.254 and a veth pair lan1/lan1p: what the refusals clash with.
    private func lanHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lan0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "lan0")
        try host.kernel.addRoute("10.50.0.0/16", via: "192.0.2.254")
        host.kernel.addLink("lan1", kind: "veth", up: true, peerName: "lan1p")
        return host
    }

    @Test("a network is a tagged bridge, up, with its fixed MAC, the gateway address and MTU; sysctls are written once")
    func createMakesTheBridge() throws {
        let host = try FakeHost()
        let network = try host.network(mtu: 1400)
        #expect(network.gateway?.description == "10.88.0.1")
        let bridge = try #require(host.kernel.link("brweb"))
        #expect(bridge.kind == "bridge" && bridge.isUp && bridge.mtu == 1400 && bridge.mac == network.bridgeMAC)
        #expect(bridge.alias == "berth-network web @f4ce0001")
        #expect(host.kernel.addresses().contains("10.88.0.1/24 dev brweb"))
        #expect(host.kernel.sysctlWrites == [
            "host: net/ipv6/conf/brweb/accept_ra=0", "host: net/ipv4/conf/brweb/arp_notify=1", "host: net/ipv4/ip_forward=1",
            // After the rules: the guard drops 127/8 arriving anywhere but lo.
            "host: net/ipv4/conf/brweb/route_localnet=1",
        ])
        // A second network leaves ip_forward alone: it is already on.
        try host.network("db", subnet: "10.89.0.0/24")
        #expect(host.kernel.sysctlWrites.count == 7)
        #expect(try host.manager.networks().map(\.name) == ["db", "web"])
    }

    @Test("without a subnet the first free default pool is taken, skipping host routes, addresses and networks")
    func defaultSubnetAvoidsWhatIsTaken() throws {
        let host = try FakeHost()
        host.kernel.addLink("eth0", kind: "dummy", up: true)
        try host.kernel.addAddress("172.17.5.1/24", to: "eth0")
        try host.kernel.addRoute("172.18.0.0/16", via: "172.17.5.254")
        try host.network("one", subnet: "172.19.0.0/16")
        let picked = try host.network("two", subnet: nil)
        #expect(picked.subnet?.description == "172.20.0.0/16")
        #expect(picked.gateway?.description == "172.20.0.1")
    }

    @Test("the default network gets berth0, another network br- and 12 hex digits of its id")
    func defaultBridgeNames() throws {
        let host = try FakeHost()
        let berth = try host.manager.createNetwork(NetworkOptions(name: KernelNames.defaultNetwork))
        #expect(berth.bridge.rawValue == "berth0")
        let other = try host.manager.createNetwork(NetworkOptions(name: "other"))
        #expect(other.bridge.rawValue == "br-" + String(other.id.prefix(12)))
        #expect(host.kernel.link(other.bridge.rawValue)?.alias == "berth-network other @f4ce0001")
    }

    static let badOptions: [(String, NetworkOptions, BerthError.Code, [String], String?)] = [
        ("gateway outside the subnet", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), gateway: IPv4Address("10.61.0.1")),
         .invalidArgument, ["gateway 10.61.0.1 is not inside subnet 10.60.0.0/24"], "gateway"),
        ("gateway is the network address", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), gateway: IPv4Address("10.60.0.0")),
         .invalidArgument, ["gateway 10.60.0.0 is the network address of subnet 10.60.0.0/24"], "gateway"),
        ("/31", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/31")), .invalidArgument, ["subnet 10.60.0.0/31 is too small"], "subnet"),
        ("host bits", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.7/24")), .invalidArgument, ["subnet 10.60.0.7/24 has host bits set"], "subnet"),
        ("IPv6 subnet", NetworkOptions(name: "bad", subnet: CIDR("fd00::/64")), .invalidArgument, ["subnet fd00::/64 is not IPv4"], "subnet"),
        ("MTU too small", NetworkOptions(name: "bad", mtu: 67), .invalidArgument, ["invalid MTU 67"], "mtu"),
        ("MTU too large", NetworkOptions(name: "bad", mtu: 65536), .invalidArgument, ["invalid MTU 65536"], "mtu"),
        ("bad name", NetworkOptions(name: "-web"), .invalidArgument, ["invalid network name \"-web\""], "name"),
        ("overlaps a network", NetworkOptions(name: "bad", subnet: CIDR("10.88.0.128/25")), .conflict,
         ["subnet 10.88.0.128/25 overlaps 10.88.0.0/24", "network web"], "subnet"),
        ("overlaps a host route", NetworkOptions(name: "bad", subnet: CIDR("10.50.3.0/24")), .conflict,
         ["subnet 10.50.3.0/24 overlaps 10.50.0.0/16", "route 10.50.0.0/16 dev lan0"], "subnet"),
        ("around the host's LAN", NetworkOptions(name: "bad", subnet: CIDR("192.0.0.0/16")), .conflict,
         ["subnet 192.0.0.0/16 overlaps 192.0.2.0/24", "lan0"], "subnet"),
        ("duplicate name", NetworkOptions(name: "web", subnet: CIDR("10.70.0.0/24")), .alreadyExists, ["network web already exists"], "name"),
        ("another network's bridge", NetworkOptions(name: "bad", subnet: CIDR("10.70.0.0/24"), bridge: try? InterfaceName("brweb")), .conflict,
         ["bridge brweb already carries network web"], "bridge"),
        ("a veth's name as bridge", NetworkOptions(name: "bad", subnet: CIDR("10.70.0.0/24"), bridge: try? InterfaceName("lan1p")), .conflict,
         ["link lan1p exists but is a veth, not a bridge"], "bridge"),
        // Reserved ranges: no host route covers them (127/8's is in the local table), so
        // the overlap check alone lets them through.
        ("this network", NetworkOptions(name: "bad", subnet: CIDR("0.0.0.0/8")), .invalidArgument,
         ["subnet 0.0.0.0/8 overlaps 0.0.0.0/8 (\"this network\""], "subnet"),
        ("loopback", NetworkOptions(name: "bad", subnet: CIDR("127.0.0.0/8")), .invalidArgument,
         ["subnet 127.0.0.0/8 overlaps 127.0.0.0/8 (loopback addresses)"], "subnet"),
        ("inside loopback", NetworkOptions(name: "bad", subnet: CIDR("127.1.0.0/24")), .invalidArgument,
         ["subnet 127.1.0.0/24 overlaps 127.0.0.0/8 (loopback addresses)"], "subnet"),
        ("multicast", NetworkOptions(name: "bad", subnet: CIDR("224.0.0.0/4")), .invalidArgument,
         ["subnet 224.0.0.0/4 overlaps 224.0.0.0/4 (multicast addresses)"], "subnet"),
        ("reserved", NetworkOptions(name: "bad", subnet: CIDR("240.0.0.0/4")), .invalidArgument,
         ["subnet 240.0.0.0/4 overlaps 240.0.0.0/4 (reserved addresses"], "subnet"),
        ("around the reserved ranges", NetworkOptions(name: "bad", subnet: CIDR("192.0.0.0/2")), .invalidArgument,
         ["subnet 192.0.0.0/2 overlaps 224.0.0.0/4"], "subnet"),
        // A gateway without the subnet of its family (Docker, Podman refuse it too).
        ("gateway without subnet", NetworkOptions(name: "bad", gateway: IPv4Address("10.60.0.1")), .invalidArgument,
         ["gateway 10.60.0.1 is given without an IPv4 subnet"], "gateway"),
        ("IPv6 gateway without IPv6 subnet", NetworkOptions(name: "bad", subnet: CIDR("10.60.0.0/24"), ipv6: true, ipv6Gateway: IPv6Address("fd00:60::1")),
         .invalidArgument, ["IPv6 gateway fd00:60::1 is given without an IPv6 subnet"], "ipv6Gateway"),
    ]

    @Test("bad networks are refused naming the value and the request field; kernel, firewall and state unchanged",
          arguments: badOptions.indices)
    func badNetwork(_ index: Int) throws {
        let (label, options, code, fragments, parameter) = Self.badOptions[index]
        let host = try lanHost()
        try host.network()
        let before = host.kernel.snapshot()
        let error = refusal { try host.manager.createNetwork(options) }
        expect(error, code, fragments, parameter: parameter)
        #expect(error?.operation == .createNetwork, "\(label)")
        #expect(host.kernel.snapshot() == before, "\(label) changed the kernel")
        #expect(try host.manager.networks().map(\.name) == ["web"], "\(label)")
    }

    @Test("an untagged bridge of the chosen name is not Berth's (a create cannot crash before tagging): refused, left as it was")
    func untaggedBridgeIsRefused() throws {
        let host = try FakeHost()
        host.kernel.addLink("brweb", kind: "bridge")
        let before = host.kernel.snapshot()
        expect(refusal { try host.network() }, .conflict, ["bridge brweb already exists and was not made by Berth"], parameter: "usesExistingBridge")
        #expect(host.kernel.snapshot() == before)
    }

    @Test("a bridge created by a concurrent process between lookup and create (EEXIST) is refused, and keeps no tag of ours")
    func bridgeRaceIsRefused() throws {
        let host = try FakeHost()
        // The kernel says EEXIST to the create, as if another process had just made it.
        host.kernel.addLink("brweb", kind: "bridge")
        host.kernel.refuse("get link brweb", errno: FakeErrno.noDevice)
        expect(refusal { try host.network() }, .conflict, ["bridge brweb was created by another process meanwhile"], parameter: "bridge")
        #expect(host.kernel.operations().contains("host: create bridge brweb"))
        #expect(host.kernel.link("brweb")?.alias == nil)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("a network create failing after any step leaves no bridge, no firewall change, no record",
          arguments: ["network.bridge", "network.address", "network.firewall"], [false, true])
    func createRollsBack(point: String, besideAnotherNetwork: Bool) throws {
        let host = try FakeHost()
        // The first network also creates Berth's table; a later one only adds its rules.
        if besideAnotherNetwork { try host.network("base", subnet: "10.39.0.0/24") }
        let before = host.kernel.snapshot()
        host.arm(point)
        let error = refusal { try host.network() }
        expect(error, .internalError, ["fail point \(point) reached"])
        #expect(host.kernel.snapshot() == before)
        #expect(host.kernel.link("brweb") == nil)
        #expect(!host.nftables.ruleset.contains("10.88.0.0/24"))
        #expect(host.nftables.ruleset.isEmpty == !besideAnotherNetwork)
        host.disarm()
        try host.network()
        #expect(host.kernel.link("brweb")?.isUp == true)
    }

    @Test("the kernel refusing the gateway address removes the bridge it made; nothing is recorded")
    func kernelRefusalRollsBack() throws {
        let host = try FakeHost()
        let before = host.kernel.snapshot()
        host.kernel.refuse("add address 10.88.0.1/24", errno: FakeErrno.permission)
        let error = refusal { try host.network() }
        #expect(error?.code == .permissionDenied)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("a network with no endpoints is removed with its bridge and its rules; the table stays for the others")
    func removeTakesEverything() throws {
        let host = try FakeHost()
        try host.network("base", subnet: "10.39.0.0/24")
        let before = host.kernel.snapshot()
        try host.network()
        try host.manager.removeNetwork(named: "web")
        #expect(host.kernel.link("brweb") == nil)
        #expect(!host.nftables.ruleset.contains("berth-network web"))
        #expect(host.nftables.ruleset.contains("berth-network base"))
        // The bridge's sysctls went with it; ip_forward stays on.
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().map(\.name) == ["base"])
    }

    @Test("removing a network whose bridge is already gone only forgets it")
    func removeWithoutBridge() throws {
        let host = try FakeHost()
        try host.network()
        let index = try #require(host.kernel.link("brweb")).index
        try host.handle.netlink.deleteLink(.index(index))
        try host.manager.removeNetwork(named: "web")
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("a network with endpoints is not removed: the error names them and asks to detach them")
    func removeRefusedWithEndpoints() throws {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr1", id: "first")
        try host.attach("ctr2", id: "second")
        let before = host.kernel.snapshot()
        let error = refusal { try host.manager.removeNetwork(named: "web") }
        expect(error, .conflict, ["network web has 2 endpoints attached", "first", "second"], remedy: .detachEndpoints)
        #expect(error?.object == .network("web"))
        #expect(error?.operation == .removeNetwork)
        #expect(host.kernel.snapshot() == before)
    }

    @Test("an unknown network is not found, with the remedy to list networks")
    func removeUnknown() throws {
        let host = try FakeHost()
        let error = refusal { try host.manager.removeNetwork(named: "nope") }
        expect(error, .notFound, ["no network named \"nope\""], parameter: "network", remedy: .listExisting(.network))
    }
}
