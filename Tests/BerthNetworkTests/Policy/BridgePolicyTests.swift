import BerthCore
import Foundation
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// A network's bridge against the fake kernel: its fixed MAC, bridges Berth did not make
/// (refused, or adopted on request and then never deleted or re-addressed), reserved names.
@Suite("bridge policy (fake kernel)")
struct BridgePolicyTests {
    /// A host whose LAN bridge `lanbr` carries 192.0.2.1/24, a route 198.51.100.0/24 via
    /// 192.0.2.254 and a port `lanport`: what a user's bridge looks like.
    private func lanHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lanbr", kind: "bridge", up: true)
        host.kernel.addLink("lanport", kind: "veth", up: true, master: "lanbr", peerName: "lanpeer")
        try host.kernel.addAddress("192.0.2.1/24", to: "lanbr")
        try host.kernel.addRoute("198.51.100.0/24", via: "192.0.2.254")
        return host
    }

    @Test("a bridge is made with its fixed MAC (derived from the network id, locally administered) in the create message")
    func fixedMACAtCreation() throws {
        let host = try FakeHost()
        let network = try host.network()
        let mac = try #require(network.bridgeMAC)
        #expect(mac == KernelNames.bridgeMAC(networkID: network.id))
        #expect(mac.bytes[0] & 0x03 == 0x02)  // locally administered, unicast
        #expect(host.kernel.link("brweb")?.mac == mac)
        let create = host.kernel.annotatedRequests().components(separatedBy: "# host").first { $0.contains("RTM_NEWLINK flags=REQUEST|ACK|ECHO|EXCL|CREATE") }
        #expect(create?.contains("IFLA_ADDRESS \(mac)") == true, "\(create ?? "no create")")
        // The tag goes in the same sendmsg as the creation.
        #expect(create?.contains("IFLA_IFALIAS \"berth-network web @f4ce0001\"") == true, "\(create ?? "no create")")
    }

    @Test("the bridge keeps its MAC while endpoints come and go, including the one with the lowest MAC")
    func macStaysAcrossDetach() throws {
        let host = try FakeHost()
        let network = try host.network()
        let endpoints = try (1...3).map { try host.attach("ctr\($0)", id: "e\($0)") }
        let lowest = try #require(endpoints.min { a, b in
            let ma = host.kernel.link(a.hostVeth.rawValue)?.mac?.bytes ?? [], mb = host.kernel.link(b.hostVeth.rawValue)?.mac?.bytes ?? []
            return ma.lexicographicallyPrecedes(mb)
        })
        try host.manager.detach(id: lowest.id)
        #expect(host.kernel.link("brweb")?.mac == network.bridgeMAC)
        for endpoint in endpoints where endpoint.id != lowest.id { try host.manager.detach(id: endpoint.id) }
        #expect(host.kernel.link("brweb")?.mac == network.bridgeMAC)
    }

    @Test("a bridge without a set MAC (made before fixed MACs) floats to its lowest port; check names it, reconcile fixes it and turns arp_notify on")
    func legacyBridgeGetsItsMAC() throws {
        let host = try FakeHost()
        let network = try host.network()
        try host.attach("ctr1", id: "e1")
        // What an older Berth made: a bridge whose MAC the kernel picks.
        let bridge = try #require(host.kernel.link("brweb"))
        let veth = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        try host.handle.netlink.deleteLink(.index(bridge.index))
        host.kernel.addLink("brweb", kind: "bridge", up: true, alias: "berth-network web @f4ce0001")
        try host.kernel.addAddress("10.88.0.1/24", to: "brweb")
        try host.handle.netlink.setMaster(.index(veth.index), to: .name(InterfaceName("brweb")))
        let floating = try #require(veth.mac), fixed = try #require(network.bridgeMAC)
        #expect(host.kernel.link("brweb")?.mac == floating)
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == ["network web: bridge brweb: MAC \(floating), not its fixed \(fixed)"])
        #expect(problems.first?.repair == .reconcile)
        #expect(try host.manager.reconcile().restored == problems)
        #expect(host.kernel.link("brweb")?.mac == network.bridgeMAC)
        #expect(host.kernel.sysctls().contains("net/ipv4/conf/brweb/arp_notify=1"))
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a bridge Berth did not make is refused, naming the opt-in; kernel and state unchanged")
    func foreignBridgeRefused() throws {
        let host = try lanHost()
        let before = host.kernel.snapshot()
        let error = refusal { try host.network("lan", subnet: "10.60.0.0/24", bridge: "lanbr") }
        expect(error, .conflict, ["bridge lanbr already exists and was not made by Berth"], parameter: "usesExistingBridge")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("an adopted bridge gets the gateway address asked for and the rules, not Berth's MAC, tag, accept_ra or route_localnet; rm takes only the gateway")
    func adoptedBridge() throws {
        let host = try lanHost()
        let before = (host.kernel.links().map(\.description), host.kernel.addresses(), host.kernel.routes().sorted())
        let lanbr = try #require(host.kernel.link("lanbr"))
        let network = try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: CIDR(parsing: "10.60.0.0/24"),
                                                                    gateway: IPv4Address(parsing: "10.60.0.1"),
                                                                    bridge: InterfaceName("lanbr"), usesExistingBridge: true))
        #expect(network.bridgeAdopted && network.gatewayAdded && network.bridgeMAC == nil)
        let adopted = try #require(host.kernel.link("lanbr"))
        #expect(adopted.index == lanbr.index && adopted.mac == lanbr.mac && adopted.alias == nil)
        #expect(host.kernel.addresses().contains("10.60.0.1/24 dev lanbr"))
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("lanbr/accept_ra") })
        // With it the LAN would reach the host's loopback services whenever the guard is gone.
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("lanbr/route_localnet") })
        try host.attach("ctr1", to: "lan", id: "e1")
        #expect(try host.manager.reconcile().restored.isEmpty)
        #expect(!host.kernel.sysctlWrites.contains { $0.contains("lanbr/route_localnet") })
        #expect(try host.manager.check().isEmpty)
        try host.manager.detach(id: "e1")
        try host.manager.removeNetwork(named: "lan")
        let after = try #require(host.kernel.link("lanbr"))
        #expect(after.index == lanbr.index && after.isUp && host.kernel.link("lanport")?.master == lanbr.index)
        #expect(host.kernel.addresses().contains("192.0.2.1/24 dev lanbr") && !host.kernel.addresses().contains("10.60.0.1/24 dev lanbr"))
        #expect(host.kernel.routes().contains("198.51.100.0/24 via 192.0.2.254 dev lanbr"))
        #expect(!host.nftables.ruleset.contains("berth-network lan"))
        // Links, addresses and routes are as they were.
        #expect(host.kernel.links().map(\.description) == before.0 && host.kernel.addresses() == before.1 && host.kernel.routes().sorted() == before.2)
    }

    @Test("a gateway address the adopted bridge already had stays when the network is removed")
    func adoptedGatewayStays() throws {
        let host = try lanHost()
        let network = try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: CIDR(parsing: "192.0.2.0/24"),
                                                                    gateway: IPv4Address(parsing: "192.0.2.1"),
                                                                    bridge: InterfaceName("lanbr"), usesExistingBridge: true))
        #expect(!network.gatewayAdded)
        try host.manager.removeNetwork(named: "lan")
        #expect(host.kernel.addresses().contains("192.0.2.1/24 dev lanbr"))
    }

    @Test("an adopted bridge that is gone is not made again: check and reconcile name the repair; attach refuses")
    func adoptedBridgeGone() throws {
        let host = try lanHost()
        try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: CIDR(parsing: "10.60.0.0/24"), gateway: IPv4Address(parsing: "10.60.0.1"),
                                                      bridge: InterfaceName("lanbr"), usesExistingBridge: true))
        try host.attach("ctr1", to: "lan", id: "e1")
        let lanbr = try #require(host.kernel.link("lanbr"))
        try host.handle.netlink.deleteLink(.index(lanbr.index))
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == ["network lan: bridge lanbr: missing (it was adopted, not made by Berth)"])
        #expect(problems.first?.repair == .recreateBridge)
        let report = try host.manager.reconcile()
        #expect(report.remaining == problems && report.restored.isEmpty)
        #expect(host.kernel.link("lanbr") == nil)
        let error = refusal { try host.attach("ctr2", to: "lan", id: "e2") }
        expect(error, .notFound, ["bridge lanbr of network lan is gone"])
    }

    @Test("opting in needs a bridge that exists, is not Berth's own, and is no other instance's")
    func adoptionRefusals() throws {
        let host = try lanHost()
        try host.network()
        host.kernel.addLink("brtheirs", kind: "bridge", alias: "berth-network web @0dd1ce00")
        func adopt(_ bridge: String) -> BerthError? {
            refusal { try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: CIDR(parsing: "10.60.0.0/24"),
                                                                    bridge: InterfaceName(bridge), usesExistingBridge: true)) }
        }
        expect(adopt("nosuch"), .notFound, ["bridge nosuch does not exist"], parameter: "bridge")
        expect(adopt("brweb"), .conflict, ["bridge brweb already carries network web"], parameter: "bridge")
        expect(adopt("brtheirs"), .conflict, ["bridge brtheirs carries network web of another Berth instance (0dd1ce00"], parameter: "bridge")
        expect(adopt("lanport"), .conflict, ["link lanport exists but is a veth, not a bridge"], parameter: "bridge")
        // Without the opt-in, another instance's bridge is refused just the same.
        expect(refusal { try host.network("lan", subnet: "10.60.0.0/24", bridge: "brtheirs") }, .conflict, ["another Berth instance"])
        #expect(try host.manager.networks().map(\.name) == ["web"])
    }

    @Test("a bridge of this instance tagged with a network the state does not know (a crashed create) is made anew, as gc would delete it")
    func ownLeftoverIsTaken() throws {
        let host = try FakeHost()
        let index = host.kernel.addLink("brweb", kind: "bridge", alias: "berth-network web @f4ce0001")
        let network = try host.network()
        let bridge = try #require(host.kernel.link("brweb"))
        #expect(bridge.index != index && bridge.isUp && bridge.mac == network.bridgeMAC)
        #expect(bridge.alias == "berth-network web @f4ce0001")
    }

    @Test("the default network takes berth0 unless another instance holds that name")
    func defaultBridgeAcrossInstances() throws {
        let host = try FakeHost()
        host.kernel.addLink("berth0", kind: "bridge", up: true, alias: "berth-network berth @0dd1ce00")
        let network = try host.manager.createNetwork(NetworkOptions(name: KernelNames.defaultNetwork))
        #expect(network.bridge.rawValue == "br-" + String(network.id.prefix(12)))
        #expect(host.kernel.link("berth0")?.alias == "berth-network berth @0dd1ce00")
    }

    @Test("a bridge made by hand under a removed network's name after Berth's was deleted is left alone by rm")
    func removeLeavesAStrangersBridge() throws {
        let host = try FakeHost()
        try host.network()
        let bridge = try #require(host.kernel.link("brweb"))
        try host.handle.netlink.deleteLink(.index(bridge.index))
        host.kernel.addLink("brweb", kind: "bridge", up: true)
        try host.manager.removeNetwork(named: "web")
        #expect(host.kernel.link("brweb") != nil)
        #expect(try host.manager.networks().isEmpty)
    }

    @Test("network names none, host, bridge and default are reserved", arguments: ["none", "host", "bridge", "default", "None"])
    func reservedNames(_ name: String) throws {
        let host = try FakeHost()
        let error = refusal { try host.network(name) }
        expect(error, .invalidArgument, ["network name \"\(name)\" is reserved"], parameter: "name")
        #expect(try host.manager.networks().isEmpty && host.kernel.links().map(\.name) == ["lo"])
    }
}
