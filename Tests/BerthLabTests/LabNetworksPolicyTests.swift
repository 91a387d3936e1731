import BerthCore
import BerthFakes
@testable import BerthLab
import BerthNamespace
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Testing

/// The Berth-network half of a lab against the fake kernel: which networks to create, which
/// refuse, how a node joins and leaves, what `down` removes. No privilege needed.
@Suite("lab networks policy (fake kernel)")
struct LabNetworksPolicyTests {
    private func node(_ name: String, network: String?, publish: [String] = []) throws -> NodeSpec {
        NodeSpec(name: name, network: network, publish: try publish.map { try PortSpec(parsing: $0) })
    }

    private func createNetwork(_ host: FakeHost, _ name: String, subnet: String, isInternal: Bool = false) throws {
        try host.manager.createNetwork(NetworkOptions(name: name, subnet: try CIDR(parsing: subnet), bridge: try InterfaceName("br\(name)"),
                                                      isInternal: isInternal))
    }

    @Test("declared networks: missing ones are to create, existing ones are used if they match and refused if not")
    func missingAndConflicts() throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        let networks = LabNetworks(lab: "t", manager: host.manager)
        var spec = LabSpec(name: "t", networks: [NetworkSpec(name: "lan", subnet: try CIDR(parsing: "10.0.9.0/24")), NetworkSpec(name: "wan")])
        #expect(try networks.missing(spec).map(\.name) == ["wan"])
        spec.networks[0].subnet = try CIDR(parsing: "10.0.8.0/24")
        spec.networks[0].isInternal = true
        let error = #expect(throws: BerthError.self) { try networks.missing(spec) }
        #expect(error?.code == .conflict && error?.object == .network("lan"))
        #expect(error?.message.contains("subnet 10.0.9.0/24, not 10.0.8.0/24, is not internal") == true, "\(String(describing: error))")
        #expect(error.map { !namesCLI($0.message + " " + ($0.hint ?? "")) } == true)
    }

    @Test("internal is compared only when the file gives it: an existing internal network matches a declaration without it")
    func internalLeftOut() throws {
        let host = try FakeHost()
        try createNetwork(host, "back", subnet: "10.0.9.0/24", isInternal: true)
        let networks = LabNetworks(lab: "t", manager: host.manager)
        #expect(try networks.missing(LabSpec(name: "t", networks: [NetworkSpec(name: "back")])).isEmpty)
        var spec = LabSpec(name: "t", networks: [NetworkSpec(name: "back")])
        spec.networks[0].isInternal = false
        let error = #expect(throws: BerthError.self) { try networks.missing(spec) }
        #expect(error?.message.contains("is internal") == true, "\(String(describing: error))")
    }

    @Test("a network whose create or removal did not finish is missing, not used nor a conflict: creating it finishes it and makes it anew; its node attaches",
          arguments: [NetworkRecord.Phase.creating, .removing])
    func unfinishedNetwork(phase: NetworkRecord.Phase) throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        try host.manager.store.write { tx throws(BerthError) in try tx.setPhase(phase, network: "lan") }
        let networks = LabNetworks(lab: "t", manager: host.manager)
        // Declared with another subnet: the old network is going away, so no conflict.
        let spec = LabSpec(name: "t", networks: [NetworkSpec(name: "lan", subnet: try CIDR(parsing: "10.0.7.0/24"))])
        #expect(try networks.missing(spec).map(\.name) == ["lan"])
        #expect(try networks.create(spec.networks[0]))
        let made = try host.manager.network(named: "lan")
        #expect(made.phase == .ready && made.subnet?.description == "10.0.7.0/24")
        // The old bridge went with the old network; the new one has its own.
        #expect(made.bridge.rawValue != "brlan" && host.kernel.link("brlan") == nil && host.kernel.link(made.bridge.rawValue)?.kind == "bridge")
        #expect(try networks.missing(spec).isEmpty)
        let namespace = host.kernel.addNamespace("t-web")
        #expect(try networks.converge(try node("web", network: "lan"), namespace: namespace.identity) == [.attach(node: "web", network: "lan")])
        #expect(try networks.endpoint(node: "web")?.address?.description == "10.0.7.2")
    }

    @Test("create makes the network's bridge; a network another process made meanwhile is only used")
    func create() throws {
        let host = try FakeHost()
        let networks = LabNetworks(lab: "t", manager: host.manager)
        #expect(try networks.create(NetworkSpec(name: "lan", subnet: try CIDR(parsing: "10.0.9.0/24"))))
        let bridge = try host.manager.network(named: "lan").bridge
        #expect(host.kernel.link(bridge.rawValue)?.kind == "bridge")
        #expect(try !networks.create(NetworkSpec(name: "lan")))
    }

    @Test("a node joins as endpoint LAB-NODE with eth0 and its ports; the same spec keeps it; other ports re-attach; no network detaches")
    func converge() throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        let namespace = host.kernel.addNamespace("t-web")
        let networks = LabNetworks(lab: "t", manager: host.manager)
        let web = try node("web", network: "lan", publish: ["8080:80"])

        #expect(try networks.converge(web, namespace: namespace.identity) == [.attach(node: "web", network: "lan")])
        let endpoint = try #require(try networks.endpoint(node: "web"))
        #expect(endpoint.id == "t-web" && endpoint.interfaceName.rawValue == "eth0" && endpoint.address?.description == "10.0.9.2")
        #expect(endpoint.ports.map(\.dockerDescription) == ["0.0.0.0:8080->80/tcp"])
        #expect(host.kernel.addresses(in: namespace).contains("10.0.9.2/24 dev eth0"), "\(host.kernel.addresses(in: namespace))")
        #expect(host.nftables.ruleset.contains("tcp . 8080 comment \"berth-endpoint t-web @f4ce0001\" : 10.0.9.2 . 80"))

        let before = host.kernel.snapshot()
        #expect(try networks.converge(web, namespace: namespace.identity).isEmpty)
        #expect(host.kernel.snapshot() == before)

        let moved = try node("web", network: "lan", publish: ["8081:80"])
        #expect(try networks.converge(moved, namespace: namespace.identity) == [.detach(node: "web"), .attach(node: "web", network: "lan")])
        #expect(host.nftables.ruleset.contains("tcp . 8081") && !host.nftables.ruleset.contains("tcp . 8080"))

        // An endpoint recorded for another namespace under the node's name is not the node's.
        #expect(try networks.converge(moved, namespace: nil) == [.detach(node: "web"), .attach(node: "web", network: "lan")])

        #expect(try networks.converge(try node("web", network: nil), namespace: namespace.identity) == [.detach(node: "web")])
        #expect(try host.manager.endpoints().isEmpty)
        #expect(!host.nftables.ruleset.contains("berth-endpoint t-web"))
    }

    @Test("a host port another endpoint holds is refused at the node's publish: entry (FILE:LINE:COLUMN), the holder named as berth ps shows it: a container by its name, an endpoint by its short id")
    func takenHostPort() throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        host.kernel.addNamespace("other")
        host.kernel.addNamespace("t-web")
        let owner = String(repeating: "78737f6a", count: 8)
        try host.manager.attach(AttachOptions(network: "lan", namespace: .name("other"), id: owner, ports: [try PortSpec(parsing: "8080:80")]))
        var web = try node("web", network: "lan", publish: ["9000:90", "8080:80"])
        web.location = SourceLocation(line: 3, column: 3)
        web.publishLocations = [SourceLocation(line: 7, column: 16), SourceLocation(line: 7, column: 27)]
        let networks = LabNetworks(lab: "t", manager: host.manager)

        let taken = #expect(throws: BerthError.self) { try networks.attach(web, network: "lan", source: "ex/web-lan-wan.yaml") }
        #expect(taken?.message == "ex/web-lan-wan.yaml:7:27: node web: port tcp 0.0.0.0:8080 of published port 8080:80/tcp is already published by endpoint 78737f6a7873",
                "\(String(describing: taken))")
        #expect(taken?.hint == "choose another host port in node web's publish: entry, or detach endpoint 78737f6a7873 first", "\(String(describing: taken))")
        #expect(taken?.code == .conflict && taken?.object == .node(lab: "t", "web") && taken?.remedy == .chooseAnother(parameter: "publish"))
        #expect(taken.map { !namesCLI($0.message + " " + ($0.hint ?? "")) } == true)
        #expect(try networks.endpoint(node: "web") == nil)

        // Held by a container's endpoint: the container's name, as berth ps lists it.
        try host.manager.containerStore().write { tx throws(BerthError) in
            try tx.insertContainer(ContainerRecord(id: RecordID.generate(), name: "shop", endpointID: owner, network: "lan", process: nil, supervisor: nil,
                                                   command: ["httpd"], hostname: "shop", rootfs: nil, status: .running, created: 1))
        }
        let byContainer = #expect(throws: BerthError.self) { try networks.attach(web, network: "lan", source: "ex/web-lan-wan.yaml") }
        #expect(byContainer?.message == "ex/web-lan-wan.yaml:7:27: node web: port tcp 0.0.0.0:8080 of published port 8080:80/tcp is already published by container shop",
                "\(String(describing: byContainer))")
        #expect(byContainer?.hint == "choose another host port in node web's publish: entry, or stop container shop")

        // A spec without positions (read back from the state): no place, the same words.
        web.publishLocations = []
        web.location = nil
        let unplaced = #expect(throws: BerthError.self) { try networks.attach(web, network: "lan", source: "ex/web-lan-wan.yaml") }
        #expect(unplaced?.message.hasPrefix("node web: port tcp 0.0.0.0:8080 ") == true, "\(String(describing: unplaced))")
    }

    @Test("an endpoint of the node's id in another namespace is not the lab's: it is never detached")
    func foreignEndpoint() throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        host.kernel.addNamespace("other")
        try host.manager.attach(AttachOptions(network: "lan", namespace: .name("other"), id: "t-web"))
        let networks = LabNetworks(lab: "t", manager: host.manager)
        #expect(try networks.endpoint(node: "web") == nil)
        try networks.detach(node: "web")
        #expect(try host.manager.endpoints().map(\.id) == ["t-web"])
    }

    @Test("remove takes the networks the lab created and no longer keeps; one others still use stays")
    func remove() throws {
        let host = try FakeHost()
        try createNetwork(host, "lan", subnet: "10.0.9.0/24")
        try createNetwork(host, "wan", subnet: "10.0.10.0/24")
        try createNetwork(host, "dmz", subnet: "10.0.11.0/24")
        host.kernel.addNamespace("someone")
        try host.manager.attach(AttachOptions(network: "dmz", namespace: .name("someone")))
        let networks = LabNetworks(lab: "t", manager: host.manager)
        let (removed, kept) = try networks.remove(created: ["lan", "wan", "dmz", "gone"], keep: ["wan"])
        #expect(removed == ["gone", "lan"] && kept == ["dmz"])
        #expect(try host.manager.networks().map(\.name) == ["dmz", "wan"])
        #expect(host.kernel.link("brlan") == nil && host.kernel.link("brwan") != nil)
    }

    @Test("published ports match their specs: fixed, chosen, ranges, host addresses, both families")
    func portsMatch() throws {
        func mapping(_ host: UInt16, _ container: UInt16, _ proto: TransportProtocol = .tcp, _ address: String = "0.0.0.0") throws -> PortMappingRecord {
            PortMappingRecord(endpointID: "e", proto: proto, hostAddress: try IPAddress(parsing: address), hostPort: host, containerPort: container)
        }
        func specs(_ texts: [String]) throws -> [PortSpec] { try texts.map { try PortSpec(parsing: $0) } }
        #expect(LabNetworks.matches([try mapping(8080, 80)], try specs(["8080:80"])))
        #expect(LabNetworks.matches([try mapping(32768, 80)], try specs(["80"])))
        #expect(LabNetworks.matches([try mapping(8000, 80)], try specs(["8000-8010:80"])))
        #expect(LabNetworks.matches([try mapping(9000, 90), try mapping(9001, 91)], try specs(["9000-9001:90-91"])))
        #expect(LabNetworks.matches([try mapping(5353, 53, .udp, "127.0.0.1")], try specs(["127.0.0.1:5353:53/udp"])))
        #expect(LabNetworks.matches([try mapping(8080, 80), try mapping(8080, 80, .tcp, "::")], try specs(["8080:80"])))
        #expect(!LabNetworks.matches([try mapping(8080, 80)], try specs(["8081:80"])))
        #expect(!LabNetworks.matches([try mapping(8080, 80)], try specs(["8080:80", "9090:90"])))
        #expect(!LabNetworks.matches([try mapping(8080, 80), try mapping(9090, 90)], try specs(["8080:80"])))
        #expect(!LabNetworks.matches([try mapping(8080, 80, .udp, "0.0.0.0")], try specs(["8080:80"])))
        #expect(!LabNetworks.matches([try mapping(9001, 90), try mapping(9000, 91)], try specs(["9000-9001:90-91"])))
        #expect(!LabNetworks.matches([try mapping(8080, 80, .tcp, "127.0.0.1")], try specs(["8080:80"])))
        #expect(LabNetworks.matches([], []))
    }
}

/// Whether `text` names a `berth` command or a command-line flag: library errors must not.
func namesCLI(_ text: String) -> Bool {
    if text.contains("'berth") || text.contains("berth lab ") { return true }
    var previous: Character = " ", beforePrevious: Character = " "
    for character in text {
        if beforePrevious == "-", previous == "-", character.isLetter { return true }
        beforePrevious = previous
        previous = character
    }
    return false
}
