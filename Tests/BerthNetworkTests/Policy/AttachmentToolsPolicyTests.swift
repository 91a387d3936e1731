import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthNFTables
import Testing

/// What a runtime asks of one attachment, against the fake kernel: verify it piece by
/// piece, describe it, prune a network down to a known set, and say what would block an
/// attach before trying one.
@Suite("verify, describe, prune and readiness policy (fake kernel)")
struct AttachmentToolsPolicyTests {
    /// Network web with endpoints e1 (in ctr1, publishing 8080) and e2 (in ctr2).
    private func populated() throws -> FakeHost {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        try host.attach("ctr2", id: "e2")
        return host
    }

    private func problems(_ host: FakeHost, _ id: String) throws -> [String] {
        try host.manager.verifyEndpoint(id: id).map { "\($0.object): \($0.problem)" }
    }

    @Test("verifyEndpoint finds nothing wrong after an attach, and reads only what one endpoint needs")
    func verifyClean() throws {
        let host = try populated()
        host.nftables.resetCounts()
        let mark = host.kernel.mark
        #expect(try problems(host, "e1").isEmpty)
        #expect(host.nftables.tableReads == 1 && host.nftables.rulesetReads == 0)
        // Two host link lookups, then the interface, its addresses and the routes inside.
        #expect(host.kernel.operations(since: mark).count == 5)
    }

    @Test("verifyEndpoint names a bridge or veth that is down, a missing route, a changed MAC and a missing element")
    func verifyNamesEachPiece() throws {
        let host = try populated()
        let endpoint = try host.manager.endpoint("e1")
        let ctr1 = try host.namespace("ctr1")
        try host.handle.netlink.setDown(.name(try InterfaceName("brweb")))
        try host.handle.netlink.setDown(.name(endpoint.hostVeth))
        let inside = try host.handle.netlink(in: ctr1)
        try inside.deleteRoute(to: nil, via: .v4(IPv4Address(10, 88, 0, 1)))
        try inside.setMAC(.name(try InterfaceName("eth0")), to: try MACAddress(parsing: "02:00:00:00:00:99"))
        var drop = Transaction()
        drop.delete(.element(Element([.proto(6), .port(8080)], [.ipv4(try #require(endpoint.address)), .port(80)]), in: FirewallLayout.publishAny))
        try host.nftables.apply(drop)
        #expect(try problems(host, "e1") == [
            "bridge brweb: down",
            "veth \(endpoint.hostVeth): down",
            "interface eth0: has MAC 02:00:00:00:00:99, not \(endpoint.mac)",
            "default route via 10.88.0.1: missing",
            "element tcp . 8080 comment \"berth-endpoint e1 @f4ce0001\" : 10.88.0.2 . 80 of map publish_any: missing",
        ])
        // Another endpoint of the network shares only the bridge's problem.
        #expect(try problems(host, "e2") == ["bridge brweb: down"])
    }

    @Test("verifyEndpoint: a deleted veth takes the interface with it; a vanished namespace is gone; unknown ids are not found")
    func verifyMissing() throws {
        let host = try populated()
        let endpoint = try host.manager.endpoint("e1")
        try host.handle.netlink.deleteLink(.name(endpoint.hostVeth))
        #expect(try problems(host, "e1") == ["veth \(endpoint.hostVeth): missing", "interface eth0 in /run/netns/ctr1: missing"])
        host.kernel.destroyNamespace(try host.namespace("ctr2"))
        let veth2 = try host.manager.endpoint("e2").hostVeth
        #expect(try problems(host, "e2") == ["veth \(veth2): missing", "network namespace /run/netns/ctr2: gone"])
        let error = refusal { _ = try host.manager.verifyEndpoint(id: "e") }
        expect(error, .notFound, ["no endpoint with id \"e\""], parameter: "id")
        #expect(error?.operation == .check)
    }

    @Test("describe gives the network and the host links' MACs as the kernel reports them")
    func describe() throws {
        let host = try populated()
        let endpoint = try host.manager.endpoint("e1")
        let description = try host.manager.describe(endpoint)
        #expect(description.network == (try host.manager.network(named: "web")))
        #expect(description.bridgeMAC == host.kernel.link("brweb")?.mac)
        #expect(description.hostVethMAC == host.kernel.link(endpoint.hostVeth.rawValue)?.mac)
        #expect(description.bridgeMAC != nil && description.hostVethMAC != nil)
        #expect(try description.addressCIDR?.description == "10.88.0.2/24")
    }

    @Test("attachDescribed describes from the attach itself what describe reads afterwards, without a state read or a link lookup: on a ready bridge, one the attach makes again, an adopted one")
    func attachDescribed() throws {
        let host = try populated()
        host.kernel.addLink("lanbr", kind: "bridge", up: true)
        _ = try host.manager.createNetwork(NetworkOptions(name: "lan", subnet: CIDR(parsing: "10.60.0.0/24"), gateway: IPv4Address(parsing: "10.60.0.1"),
                                                          bridge: InterfaceName("lanbr"), usesExistingBridge: true))
        func attach(_ namespace: String, to network: String, id: String) throws -> EndpointDescription {
            host.kernel.addNamespace(namespace)
            let mark = host.kernel.mark
            let description = try host.manager.attachDescribed(AttachOptions(network: network, namespace: .name(namespace), id: id,
                                                                             ports: [try PortSpec(parsing: "9\(id.count)00:80")]))
            // The same kernel work as attach: one bridge lookup first, no lookup of the veth
            // after; an adopted bridge's MAC, which follows its ports, is read again.
            let operations = host.kernel.operations(since: mark)
            #expect(operations.filter { $0.contains("get link") }.count == (network == "lan" ? 2 : 1), "\(operations)")
            return description
        }
        let ready = try attach("ctr3", to: "web", id: "e3")
        #expect(ready == (try host.manager.describe(try host.manager.endpoint("e3"))))
        // A bridge gone since the last attach is made again, with the network's MAC.
        try host.handle.netlink.deleteLink(.name(try InterfaceName("brweb")))
        let remade = try attach("ctr4", to: "web", id: "e4x")
        #expect(remade == (try host.manager.describe(try host.manager.endpoint("e4x"))))
        let web = try host.manager.network(named: "web")
        #expect(remade.bridgeMAC != nil && remade.bridgeMAC == web.bridgeMAC)
        // An adopted bridge has a MAC of its own, which the result reports as it is after the attach.
        let adopted = try attach("ctr5", to: "lan", id: "e5xx")
        #expect(adopted == (try host.manager.describe(try host.manager.endpoint("e5xx"))))
        #expect(adopted.bridgeMAC != nil && adopted.bridgeMAC == host.kernel.link("lanbr")?.mac)
        #expect(adopted.hostVethMAC != nil)
    }

    @Test("attachDescribed's network check sees the recorded network before anything is made; its refusal ends the attach with nothing recorded, made or published")
    func attachDescribedCheckRefuses() throws {
        let host = try populated()
        host.kernel.addNamespace("ctr3")
        let mark = host.kernel.mark
        let ruleset = host.nftables.ruleset
        var seen: [String] = []
        #expect {
            _ = try host.manager.attachDescribed(AttachOptions(network: "web", namespace: .name("ctr3"), id: "e3",
                                                               ports: [try PortSpec(parsing: "9300:80")])) { (network) throws(BerthError) in
                seen.append(network.name)
                throw BerthError(.conflict, "network \(network.name) is not the one configured")
            }
        } throws: { error in
            (error as? BerthError)?.message == "network web is not the one configured" && (error as? BerthError)?.code == .conflict
        }
        #expect(seen == ["web"])
        #expect(host.kernel.operations(since: mark).isEmpty)
        #expect(try host.manager.endpoints().map(\.id) == ["e1", "e2"])
        #expect(host.nftables.ruleset == ruleset)
        // The same attach without the refusal goes through.
        _ = try host.manager.attachDescribed(AttachOptions(network: "web", namespace: .name("ctr3"), id: "e3",
                                                           ports: [try PortSpec(parsing: "9300:80")])) { _ in }
        #expect(try host.manager.endpoints().map(\.id) == ["e1", "e2", "e3"])
    }

    @Test("pruneEndpoints removes a network's endpoints not kept, with their veths, leases and elements; other networks stay")
    func pruneEndpoints() throws {
        let host = try populated()
        try host.attach("ctr3", id: "e3", ports: ["8083:80"])
        try host.network("other", subnet: "10.89.0.0/24")
        try host.attach("ctr4", to: "other", id: "o1", ports: ["8084:80"])
        let veth1 = try host.manager.endpoint("e1").hostVeth.rawValue
        let veth3 = try host.manager.endpoint("e3").hostVeth.rawValue
        let report = try host.manager.pruneEndpoints(network: "web", keeping: ["e2"])
        #expect(report.endpoints == ["e1", "e3"])
        #expect(report.links.isEmpty && report.firewallObjects.isEmpty)
        #expect(try host.recorded() == ["o1 10.89.0.2", "e2 10.88.0.3"])
        #expect(host.kernel.link(veth1) == nil && host.kernel.link(veth3) == nil)
        let ruleset = host.nftables.ruleset
        #expect(!ruleset.contains("berth-endpoint e1 @f4ce0001\"") && !ruleset.contains("berth-endpoint e3 @f4ce0001\""))
        #expect(ruleset.contains("berth-endpoint o1 @f4ce0001\""))
        // Freed addresses are leased again, lowest first.
        #expect(try host.attach("ctr5", id: "e5").address?.description == "10.88.0.2")
    }

    @Test("pruneEndpoints: an endpoint whose teardown fails is kept, marked, with its record and veth, and listed in failed; the others go and stay gone; the next prune finishes it")
    func pruneOneEndpointFails() throws {
        let host = try populated()
        try host.attach("ctr3", id: "e3", ports: ["8083:80"])
        let veth1 = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        let veth3 = try host.manager.endpoint("e3").hostVeth.rawValue
        // e1's host end cannot be unplugged (EPERM, once).
        host.kernel.refuse("update link #\(veth1.index): rename", errno: FakeErrno.permission)
        let report = try host.manager.pruneEndpoints(network: "web", keeping: ["e2"])
        #expect(report.endpoints == ["e3"], "\(report)")
        #expect(report.failed.map(\.id) == ["e1"] && report.failed.first?.owner == .endpoint, "\(report.failed)")
        #expect(report.failed.first?.error.code == .permissionDenied, "\(report.failed)")
        #expect(report.links.isEmpty, "\(report)")
        // e3's removal committed; e1 kept, marked, with its record (its address and ports
        // still reserved) and its veth. Its element went in the step before the failing one,
        // as a detach's does.
        #expect(try host.recorded() == ["e1 10.88.0.2", "e2 10.88.0.3"])
        #expect(try host.manager.endpoint("e1").isDetaching)
        #expect(host.kernel.link(veth1.name) != nil && host.kernel.link(veth3) == nil)
        #expect(!host.nftables.ruleset.contains("berth-endpoint e3 @f4ce0001\""))
        // The refusal was once: the next prune (e1 marked: it goes even when kept) finishes it.
        let again = try host.manager.pruneEndpoints(network: "web", keeping: ["e1", "e2"])
        #expect(again.endpoints == ["e1"] && again.failed.isEmpty, "\(again)")
        #expect(try host.recorded() == ["e2 10.88.0.3"])
        #expect(host.kernel.link(veth1.name) == nil)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("pruneEndpoints among: only the endpoints the caller accepts (asked inside the prune) are candidates; the rest stay whole")
    func pruneAmong() throws {
        let host = try populated()
        try host.attach("ctr3", id: "e3", ports: ["8083:80"])
        var asked: [String] = []
        let report = try host.manager.pruneEndpoints(network: "web", keeping: ["e2"]) { endpoint in
            asked.append(endpoint.id)
            return endpoint.id != "e3"
        }
        #expect(report.endpoints == ["e1"])
        // Kept ids are not asked about.
        #expect(asked == ["e1", "e3"])
        #expect(try host.recorded() == ["e2 10.88.0.3", "e3 10.88.0.4"])
        #expect(host.nftables.ruleset.contains("berth-endpoint e3 @f4ce0001\""))
    }

    @Test("pruneEndpoints also removes what crashed attaches left: this instance's unrecorded veth on the bridge and unknown elements")
    func pruneLeftovers() throws {
        let host = try populated()
        let ghost = try KernelNames.hostVeth(forEndpoint: "ghost", instance: FakeHost.instance).rawValue
        host.kernel.addLink(ghost, kind: "veth", master: "brweb", alias: KernelNames.endpointAlias("ghost", instance: FakeHost.instance), peerName: "ghostp")
        // Another instance's veth on a bridge of the same name, and an untagged one: not ours.
        let theirs = try KernelNames.hostVeth(forEndpoint: "ghost", instance: "0dd1ce00").rawValue
        host.kernel.addLink(theirs, kind: "veth", master: "brweb", alias: KernelNames.endpointAlias("ghost", instance: "0dd1ce00"), peerName: "theirsp")
        host.kernel.addLink("vethother", kind: "veth", master: "brweb", peerName: "vethotherp")
        var stray = Transaction()
        stray.add(.element(Element([.proto(6), .port(8500)], [.ipv4(IPv4Address(10, 88, 0, 99)), .port(80)],
                                   comment: FirewallLayout.endpointTag("ghost", instance: FakeHost.instance)), in: FirewallLayout.publishAny))
        stray.add(.element(Element([.proto(6), .port(8501)], [.ipv4(IPv4Address(10, 88, 0, 98)), .port(80)],
                                   comment: FirewallLayout.endpointTag("ghost", instance: "0dd1ce00")), in: FirewallLayout.publishAny))
        try host.nftables.apply(stray)
        let report = try host.manager.pruneEndpoints(network: "web", keeping: ["e1", "e2"])
        #expect(report.endpoints.isEmpty)
        #expect(report.links == [ghost])
        #expect(report.firewallObjects == ["element tcp . 8500 comment \"berth-endpoint ghost @f4ce0001\" : 10.88.0.99 . 80 of map publish_any"])
        #expect(host.kernel.link("vethother") != nil && host.kernel.link(theirs) != nil)
        #expect(host.nftables.ruleset.contains("berth-endpoint ghost @0dd1ce00"))
        #expect(try host.recorded() == ["e1 10.88.0.2", "e2 10.88.0.3"])
        #expect(try host.manager.pruneEndpoints(network: "absent", keeping: []).isEmpty)
    }

    @Test("pruneEndpoints keeps the elements of publications")
    func pruneKeepsPublications() throws {
        let host = try populated()
        host.kernel.addNamespace("ext1")
        try host.manager.publish(PublicationOptions(id: "pub1", group: "web", address: IPv4Address(10, 66, 0, 2), namespace: .name("ext1"),
                                                    ports: [try PortSpec(parsing: "8090:80")]))
        #expect(try host.manager.pruneEndpoints(network: "web", keeping: []).endpoints == ["e1", "e2"])
        #expect(host.nftables.ruleset.contains("berth-endpoint pub1 @f4ce0001\""))
    }

    @Test("attachBlockers: none for a network with room; a full subnet, a missing network, a bridge name taken by another link")
    func blockersOfExisting() throws {
        let host = try FakeHost()
        try host.network("tiny", subnet: "10.67.0.0/29")
        #expect(try host.manager.attachBlockers(network: "tiny").isEmpty)
        for i in 1...5 { try host.attach("c\(i)", to: "tiny", id: "t\(i)") }
        let full = try host.manager.attachBlockers(network: "tiny")
        #expect(full.count == 1)
        expect(full.first, .conflict, ["no free address left in subnet 10.67.0.0/29", "all 5 usable addresses are leased"],
               parameter: "network", remedy: .detachEndpoints)
        #expect(full.first?.operation == .attach)

        let absent = try host.manager.attachBlockers(network: "absent")
        expect(absent.first, .notFound, ["no network named \"absent\""], parameter: "network", remedy: .listExisting(.network))

        try host.handle.netlink.deleteLink(.name(try InterfaceName("brtiny")))
        host.kernel.addLink("brtiny", kind: "dummy")
        let taken = try host.manager.attachBlockers(network: "tiny")
        expect(taken.first, .conflict, ["link brtiny of network \"tiny\" exists but is a dummy, not a bridge"], remedy: .remove(.link("brtiny")))
        // Looking changes nothing.
        let before = host.kernel.snapshot()
        _ = try host.manager.attachBlockers(network: "tiny")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints().count == 5)
    }

    @Test("attachBlockers for a network to be created: a clashing subnet or bridge, a bad name; nothing is made")
    func blockersOfNew() throws {
        let host = try FakeHost()
        try host.network("web", subnet: "10.88.0.0/24")
        host.kernel.addLink("taken0", kind: "dummy")
        let before = host.kernel.snapshot()
        let overlap = try host.manager.attachBlockers(network: "new", creating: NetworkOptions(name: "new", subnet: try CIDR(parsing: "10.88.0.0/16")))
        expect(overlap.first, .conflict, ["subnet 10.88.0.0/16 overlaps 10.88.0.0/24"], parameter: "subnet")
        #expect(overlap.first?.operation == .createNetwork)
        let bridge = try host.manager.attachBlockers(network: "new", creating: NetworkOptions(name: "new", bridge: try InterfaceName("brweb")))
        expect(bridge.first, .conflict, ["bridge brweb already carries network web"], parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
        let link = try host.manager.attachBlockers(network: "new", creating: NetworkOptions(name: "new", bridge: try InterfaceName("taken0")))
        expect(link.first, .conflict, ["link taken0 exists but is a dummy, not a bridge"], parameter: "bridge")
        let name = try host.manager.attachBlockers(network: "bad name", creating: NetworkOptions(name: "bad name"))
        expect(name.first, .invalidArgument, ["invalid network name"], parameter: "name")
        #expect(try host.manager.attachBlockers(network: "new", creating: NetworkOptions(name: "new")).isEmpty)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.networks().map(\.name) == ["web"])
    }
}
