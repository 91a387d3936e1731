import BerthCore
import BerthFakes
import BerthNFTables
import BerthNetwork
import Foundation
import BerthTestSupport
import Testing

/// A network on a bridge Berth did not make (`usesExistingBridge`), the LAN-sharing case,
/// against the fake kernel: Berth adds no address the user did not ask for, leases none the
/// host holds there, keeps the bridge's MTU and leaves routed traffic to the LAN alone.
@Suite("adopted bridge policy (fake kernel)")
struct AdoptedBridgePolicyTests {
    /// A host whose LAN bridge `lanbr` (MTU `mtu`) holds `addresses` and has a port `lanport`.
    private func lanHost(_ addresses: [String], mtu: UInt32 = 1500) throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lanbr", kind: "bridge", up: true, mtu: mtu)
        host.kernel.addLink("lanport", kind: "veth", up: true, master: "lanbr", peerName: "lanpeer", mtu: mtu)
        for address in addresses { try host.kernel.addAddress(address, to: "lanbr") }
        return host
    }

    @discardableResult
    private func adopt(_ host: FakeHost, subnet: String? = nil, gateway: String? = nil, mtu: Int? = nil) throws -> NetworkRecord {
        try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: try subnet.map { try CIDR(parsing: $0) },
                                                      gateway: try gateway.map { try IPv4Address(parsing: $0) },
                                                      bridge: InterfaceName("lanbr"), mtu: mtu, usesExistingBridge: true))
    }

    // MARK: - The subnet and the gateway

    @Test("without a subnet, nothing is picked for a bridge Berth did not make: refused naming the subnet, nothing added or recorded")
    func noSubnetOnAnAdoptedBridge() throws {
        let host = try lanHost(["172.17.5.1/24"])
        let before = host.kernel.snapshot()
        expect(refusal { _ = try adopt(host) }, .invalidArgument, ["a network on bridge lanbr, which Berth did not make, needs its subnet given"],
               parameter: "subnet", remedy: .give(parameter: "subnet"))
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("without a gateway, a subnet the bridge holds no address in is refused, naming what it holds; nothing is added or recorded")
    func noAddressNoGateway() throws {
        let host = try lanHost(["172.17.5.1/24"])
        let before = host.kernel.snapshot()
        let error = refusal { _ = try adopt(host, subnet: "10.60.0.0/24") }
        expect(error, .invalidArgument, ["bridge lanbr holds no address in subnet 10.60.0.0/24 (it holds 172.17.5.1/24)"],
               parameter: "gateway", remedy: .give(parameter: "gateway"))
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("without a gateway, the bridge's own address in the subnet is the gateway: not the subnet's first host, nothing added, and rm leaves it")
    func bridgesAddressIsTheGateway() throws {
        let host = try lanHost(["192.168.1.10/24"])
        let before = host.kernel.addresses()
        let network = try adopt(host, subnet: "192.168.1.0/24")
        #expect(network.gateway?.description == "192.168.1.10" && !network.gatewayAdded)
        #expect(host.kernel.addresses() == before)
        try host.attach("ctr1", to: "lan", id: "e1")
        let ctr = try host.namespace("ctr1")
        #expect(host.kernel.routes(in: ctr).contains("default via 192.168.1.10 dev eth0"))
        #expect(try host.manager.check().isEmpty)
        try host.manager.detach(id: "e1")
        try host.manager.removeNetwork(named: "lan")
        #expect(host.kernel.addresses() == before)
    }

    @Test("a given gateway the bridge lacks is added, as asked, and taken back by rm")
    func givenGatewayIsAdded() throws {
        let host = try lanHost(["192.168.1.10/24"])
        let network = try adopt(host, subnet: "192.168.1.0/24", gateway: "192.168.1.2")
        #expect(network.gatewayAdded && host.kernel.addresses().contains("192.168.1.2/24 dev lanbr"))
        try host.manager.removeNetwork(named: "lan")
        #expect(host.kernel.addresses().filter { $0.hasSuffix("dev lanbr") } == ["192.168.1.10/24 dev lanbr"])
    }

    @Test("another instance's network on the adopted bridge with an overlapping subnet is refused, naming it; another subnet is not, and each rm takes only its own gateway")
    func sharedSubnetRefused() throws {
        let a = try lanHost(["192.168.1.10/24"])
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        try adopt(a, subnet: "10.70.0.0/24", gateway: "10.70.0.1")
        let before = a.kernel.snapshot()
        for subnet in ["10.70.0.0/24", "10.70.0.128/25", "10.0.0.0/8"] {
            let error = refusal { _ = try adopt(b, subnet: subnet, gateway: subnet == "10.0.0.0/8" ? "10.80.0.1" : "10.70.0.129") }
            expect(error, .conflict, ["bridge lanbr carries network lan of another Berth instance (f4ce0001, another state directory) on subnet 10.70.0.0/24, which overlaps \(subnet)"],
                   parameter: "subnet", remedy: .chooseAnother(parameter: "subnet"))
            #expect(a.kernel.snapshot() == before)
            #expect(try b.manager.networks().isEmpty)
        }
        // The LAN's own subnet, the bridge's address the gateway of both: refused as well.
        let c = try FakeHost(kernel: a.kernel, instance: "0c0c0c0c")
        try adopt(c, subnet: "192.168.1.0/24")
        expect(refusal { _ = try adopt(b, subnet: "192.168.1.0/24") }, .conflict, ["carries network lan of another Berth instance (0c0c0c0c"])
        try adopt(b, subnet: "10.71.0.0/24", gateway: "10.71.0.1")
        try a.manager.removeNetwork(named: "lan")
        #expect(a.kernel.addresses().filter { $0.hasSuffix("dev lanbr") } == ["192.168.1.10/24 dev lanbr", "10.71.0.1/24 dev lanbr"])
    }

    @Test("rm keeps the gateway address it added while another instance's network on the bridge has it in its subnet (adopted before that was refused)")
    func sharedGatewayKept() throws {
        let a = try lanHost([])
        try adopt(a, subnet: "10.70.0.0/24", gateway: "10.70.0.1")
        #expect(a.kernel.addresses().contains("10.70.0.1/24 dev lanbr"))
        // Instance 0dd1ce00's network on the same bridge and subnet, as its rules show it.
        var theirs = Transaction()
        for rule in FirewallLayout.networkRules(name: "lan", instance: "0dd1ce00", subnet: try CIDR(parsing: "10.70.0.0/24"),
                                                bridge: try InterfaceName("lanbr"), isInternal: false, bridgeAdopted: true) {
            theirs.add(.rule(rule))
        }
        try a.nftables.apply(theirs)
        try a.manager.removeNetwork(named: "lan")
        #expect(try a.manager.networks().isEmpty)
        #expect(a.kernel.addresses().contains("10.70.0.1/24 dev lanbr"))
        #expect(a.nftables.ruleset.contains("berth-network lan @0dd1ce00") && !a.nftables.ruleset.contains("berth-network lan @f4ce0001"))
    }

    // MARK: - Leases

    @Test("an attach skips the addresses the host holds on the adopted bridge")
    func leasesSkipTheHostsAddresses() throws {
        let host = try lanHost(["192.168.1.1/24", "192.168.1.2/24", "192.168.1.4/24"])
        try adopt(host, subnet: "192.168.1.0/24", gateway: "192.168.1.1")
        let got = try (1...3).map { try host.attach("ctr\($0)", to: "lan", id: "e\($0)").address?.description }
        #expect(got == ["192.168.1.3", "192.168.1.5", "192.168.1.6"])
    }

    @Test("a requested address the host holds on the adopted bridge is refused, naming it; nothing is recorded")
    func requestedHostAddressRefused() throws {
        let host = try lanHost(["192.168.1.1/24", "192.168.1.7/24"])
        try adopt(host, subnet: "192.168.1.0/24", gateway: "192.168.1.1")
        let error = refusal { try host.attach("ctr1", to: "lan", id: "e1", address: "192.168.1.7") }
        expect(error, .conflict, ["address 192.168.1.7 is the host's own: 192.168.1.7/24 on bridge lanbr of network \"lan\""],
               parameter: "address", remedy: .chooseAnother(parameter: "address"))
        #expect(try host.manager.endpoints().isEmpty)
        #expect(try host.attach("ctr1", to: "lan", id: "e1", address: "192.168.1.8").address?.description == "192.168.1.8")
    }

    @Test("a subnet whose free addresses the host holds is full, counting them apart; attachBlockers says so too")
    func hostAddressesFillTheSubnet() throws {
        let host = try lanHost(["192.168.1.1/29", "192.168.1.2/29", "192.168.1.3/29"])
        try adopt(host, subnet: "192.168.1.0/29", gateway: "192.168.1.1")
        for n in 1...3 { try host.attach("ctr\(n)", to: "lan", id: "e\(n)") }
        #expect(try host.manager.attachBlockers(network: "lan").map(\.message)
                    == ["no free address left in subnet 192.168.1.0/29 of network \"lan\": all 3 usable addresses are leased (2 more are the host's on bridge lanbr)"])
        let error = refusal { try host.attach("ctr4", to: "lan", id: "e4") }
        expect(error, .conflict, ["no free address left in subnet 192.168.1.0/29 of network \"lan\": all 3 usable addresses are leased (2 more are the host's on bridge lanbr)"])
    }

    @Test("an attach to a network on a bridge Berth made reads no addresses: its requests are as before")
    func ownBridgeAttachReadsNothingMore() throws {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr0", id: "e0")
        let mark = host.kernel.mark
        try host.attach("ctr1", id: "e1")
        #expect(!host.kernel.annotatedRequests(since: mark).contains("RTM_GETADDR"))
    }

    // MARK: - Firewall

    @Test("a publish on 127.0.0.1 to a network on an adopted bridge is refused, naming why; a wildcard publish is not; nothing is recorded")
    func loopbackPublishRefused() throws {
        let host = try lanHost(["192.168.1.10/24"])
        try adopt(host, subnet: "192.168.1.0/24")
        let error = refusal { try host.attach("ctr1", to: "lan", id: "e1", ports: ["127.0.0.1:8080:80"]) }
        expect(error, .invalidArgument, ["published port 127.0.0.1:8080:80/tcp: 127.0.0.1 cannot be published on network lan", "its bridge lanbr is not Berth's",
                                 "route_localnet"], parameter: "ports")
        #expect(error?.hint?.contains("8080:80") == true)
        #expect(try host.recorded().isEmpty)
        #expect(try host.attach("ctr1", to: "lan", id: "e1", ports: ["8080:80"]).ports.count == 1)
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("lanbr/route_localnet") })
    }

    @Test("an adopted network gets no subnet guard (its subnet may be the LAN, routed to from anywhere); hairpin and masquerade as usual")
    func noGuardOnAdoptedBridge() throws {
        let host = try lanHost(["192.168.1.10/24"])
        try host.network()
        try adopt(host, subnet: "192.168.1.0/24")
        let tagged = host.nftables.ruleset.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.contains("comment \"berth-network") }
        expectGolden(tagged.joined(separator: "\n"), """
        iifname != "lo" ip daddr 10.88.0.0/24 iifname != "brweb" drop comment "berth-network web @f4ce0001"
        ct status dnat ip saddr 10.88.0.0/24 oifname "brweb" masquerade comment "berth-network web @f4ce0001"
        ip saddr 10.88.0.0/24 oifname != "brweb" masquerade comment "berth-network web @f4ce0001"
        ct status dnat ip saddr 192.168.1.0/24 oifname "lanbr" masquerade comment "berth-network lan @f4ce0001"
        ip saddr 192.168.1.0/24 oifname != "lanbr" masquerade comment "berth-network lan @f4ce0001"
        """)
        try host.attach("ctr1", to: "lan", id: "e1")
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.reconcile().restored.isEmpty)
    }

    @Test("an adopted network's subnet guard from an earlier Berth is stale: check reports it, reconcile deletes it alone (not another instance's twin, not another network's guard), guarded by the generation")
    func staleGuardRemoved() throws {
        let host = try lanHost(["192.168.1.10/24"])
        try host.network()
        try adopt(host, subnet: "192.168.1.0/24")
        let subnet = try CIDR(parsing: "192.168.1.0/24")
        // What an earlier Berth gave the adopted network, and the same rule of another instance.
        let stale = FirewallLayout.table.rule(in: FirewallLayout.guardChain.name, [.daddr(subnet), .iifname("lanbr", negated: true), .drop],
                                              comment: FirewallLayout.networkTag("lan", instance: FakeHost.instance))
        var foreign = stale
        foreign.comment = FirewallLayout.networkTag("lan", instance: "0bad0002")
        var add = Transaction()
        add.add(.rule(stale))
        add.add(.rule(foreign))
        try host.nftables.apply(add)
        let text = "rule 'ip daddr 192.168.1.0/24 iifname != \"lanbr\" drop comment \"berth-network lan @f4ce0001\"' in chain guard"
        #expect(try host.manager.check().map(\.description) == ["network lan: \(text): stale"])
        #expect(try host.manager.check().first?.repair == .reconcile)

        let generation = try host.nftables.generation()
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description) == ["network lan: \(text): stale"])
        #expect(report.remaining.isEmpty)
        // One batch, guarded by the generation read before the table.
        #expect(try host.nftables.generation() == generation &+ 1)
        let tagged = host.nftables.ruleset.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.contains("drop comment \"berth-network") }
        expectGolden(tagged.joined(separator: "\n"), """
        iifname != "lo" ip daddr 10.88.0.0/24 iifname != "brweb" drop comment "berth-network web @f4ce0001"
        ip daddr 192.168.1.0/24 iifname != "lanbr" drop comment "berth-network lan @0bad0002"
        """)
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.reconcile().isEmpty)
    }

    // MARK: - MTU

    @Test("an adopted network takes the bridge's MTU: the record and both ends of an endpoint's veth")
    func takesTheBridgesMTU() throws {
        let host = try lanHost(["192.168.1.10/24"], mtu: 1450)
        let network = try adopt(host, subnet: "192.168.1.0/24")
        #expect(network.mtu == 1450)
        let endpoint = try host.attach("ctr1", to: "lan", id: "e1")
        let ctr = try host.namespace("ctr1")
        #expect(host.kernel.link(endpoint.hostVeth.rawValue)?.mtu == 1450)
        #expect(host.kernel.link("eth0", in: ctr)?.mtu == 1450)
    }

    @Test("an MTU above the adopted bridge's is refused naming both; one below it is kept")
    func mtuAboveTheBridgesRefused() throws {
        let host = try lanHost(["192.168.1.10/24"], mtu: 1500)
        let before = host.kernel.snapshot()
        let error = refusal { _ = try adopt(host, subnet: "192.168.1.0/24", mtu: 9000) }
        expect(error, .invalidArgument, ["MTU 9000 is above the MTU of bridge lanbr (1500)"], parameter: "mtu")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
        #expect(try adopt(host, subnet: "192.168.1.0/24", mtu: 1400).mtu == 1400)
    }
}
