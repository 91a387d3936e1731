import BerthCore
@testable import BerthLab
import BerthLabFile
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthRun
import Testing

/// What a lab plans from what it observed, without a kernel: networks, endpoints,
/// containers, and the routes it owns beside the one its Berth network makes.
@Suite("lab planning")
struct LabPlannerTests {
    static let identity = NamespaceIdentity(device: 4, inode: 4_026_532_999)

    static let yaml = """
    name: t
    nodes:
      web:
        network: lan
        publish: [ "8080:80" ]
        run: { rootfs: /srv/www, cmd: [ httpd, -f ] }
      db: { network: lan }
      plain: {}
    networks:
      lan: { subnet: 10.0.9.0/24 }
    """

    private func spec(_ text: String = yaml) throws -> LabSpec { try LabFileParser.parse(text, source: "t.yaml") }

    private func endpoint(_ node: String, network: String = "lan", identity: NamespaceIdentity = identity, ports: [String] = []) throws -> EndpointRecord {
        EndpointRecord(id: "t-\(node)", network: network, namespacePath: "/run/netns/t-\(node)", namespaceIdentity: identity,
                       interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb0000000000000"),
                       address: try IPv4Address(parsing: "10.0.9.2"), mac: try MACAddress(parsing: "02:42:0a:00:09:02"), created: 0,
                       ports: try ports.map { text in
                           let spec = try PortSpec(parsing: text)
                           return PortMappingRecord(endpointID: "t-\(node)", proto: spec.protocol, hostAddress: .v4(.any),
                                                    hostPort: spec.hostPorts?.start ?? 32768, containerPort: spec.containerPorts.start)
                       })
    }

    private func container(_ command: [String] = ["httpd", "-f"], rootfs: String? = "/srv/www") -> ContainerRecord {
        ContainerRecord(id: String(repeating: "a", count: 64), name: "t-web", endpointID: nil, network: "host",
                        process: ProcessIdentity(pid: 10, startTime: 1), supervisor: ProcessIdentity(pid: 9, startTime: 1), command: command, hostname: "web", rootfs: rootfs, status: .running, created: 0)
    }

    private func observed(_ nodes: [String: (EndpointRecord?, ContainerRecord?, Bool)]) -> LabObservation {
        var observation = LabObservation(lab: "t", nodes: [:])
        for (name, (endpoint, container, running)) in nodes {
            var node = ObservedNode.missing(name, namespace: "t-\(name)")
            node.exists = true
            node.tagged = true
            node.identity = Self.identity
            node.endpoint = endpoint
            node.container = container
            node.containerRunning = running
            observation.nodes[name] = node
        }
        return observation
    }

    @Test("a new lab: networks it lacks first; attach and start after the nodes; nothing to remove")
    func fresh() throws {
        let spec = try spec()
        let planner = LabServicePlanner(spec: spec, observation: LabObservation(lab: "t", nodes: [:]), previous: nil,
                                        missingNetworks: spec.networks, createdNetworks: [])
        #expect(planner.networksFirst() == spec.networks.map { .createNetwork($0) })
        #expect(planner.servicesLast() == [.attach(node: "web", network: "lan"), .attach(node: "db", network: "lan"), .startContainer(node: "web")])
    }

    @Test("a node the file dropped: deleted when its namespace carries its tag, or when an owned node's create left only a file; an untagged namespace of an owned name is someone else's: not deleted, named by leftAlone")
    func droppedNodes() throws {
        let spec = try spec()
        var observation = observed(["web": (nil, nil, false), "db": (nil, nil, false), "plain": (nil, nil, false), "tagged": (nil, nil, false),
                                    "replaced": (nil, nil, false), "other": (nil, nil, false)])
        observation.nodes["replaced"]?.tagged = false
        observation.nodes["other"]?.tagged = false
        observation.nodes["other"]?.heldBy = "lab t-o's node x"
        var leftover = ObservedNode.missing("crashed", namespace: "t-crashed")
        leftover.leftover = true
        observation.nodes["crashed"] = leftover
        var foreignLeftover = ObservedNode.missing("stray", namespace: "t-stray")
        foreignLeftover.leftover = true
        observation.nodes["stray"] = foreignLeftover
        let planner = LabPlanner(spec: spec, observation: observation, owned: ["tagged", "replaced", "other", "crashed"])
        let deletions = planner.plan().filter { if case .deleteNode = $0 { true } else { false } }
        #expect(deletions == [.deleteNode("crashed"), .deleteNode("tagged")])
        #expect(planner.leftAlone() == ["t-replaced"])
    }

    @Test("a lab as its file: nothing to do")
    func upToDate() throws {
        let spec = try spec()
        let observation = observed(["web": (try endpoint("web", ports: ["8080:80"]), container(), true), "db": (try endpoint("db"), nil, false),
                                    "plain": (nil, nil, false)])
        let planner = LabServicePlanner(spec: spec, observation: observation, previous: spec, missingNetworks: [], createdNetworks: ["lan"])
        #expect(planner.servicesLast().isEmpty)
    }

    @Test("what changed: ports, a network left, a container that stopped, another command, an unknown start, a dropped network")
    func changes() throws {
        let spec = try spec()
        var observation = observed(["web": (try endpoint("web", ports: ["9090:80"]), container(), false),
                                    "db": (try endpoint("db", identity: NamespaceIdentity(device: 4, inode: 1)), nil, false),
                                    "plain": (try endpoint("plain"), container(), true)])
        var planner = LabServicePlanner(spec: spec, observation: observation, previous: spec, missingNetworks: [], createdNetworks: ["lan", "old"])
        #expect(planner.servicesLast() == [
            .detach(node: "web"), .attach(node: "web", network: "lan"),
            .detach(node: "db"), .attach(node: "db", network: "lan"),
            .detach(node: "plain"),
            .stopContainer(node: "web"), .startContainer(node: "web"),
            .stopContainer(node: "plain"),
            .removeNetwork("old"),
        ])

        // Running, but another command, or started from a spec the lab cannot know.
        observation = observed(["web": (try endpoint("web", ports: ["8080:80"]), container(["httpd", "-v"]), true)])
        planner = LabServicePlanner(spec: spec, observation: observation, previous: spec, missingNetworks: [], createdNetworks: [])
        #expect(planner.servicesLast().filter { if case .attach = $0 { false } else { true } } == [.stopContainer(node: "web"), .startContainer(node: "web")])
        observation = observed(["web": (try endpoint("web", ports: ["8080:80"]), container(), true)])
        planner = LabServicePlanner(spec: spec, observation: observation, previous: nil, missingNetworks: [], createdNetworks: [])
        #expect(planner.servicesLast().contains(.startContainer(node: "web")))
        var changedEnv = spec
        changedEnv.nodes[0].run?.environment = ["A=1"]
        planner = LabServicePlanner(spec: changedEnv, observation: observation, previous: spec, missingNetworks: [], createdNetworks: [])
        #expect(planner.servicesLast().contains(.startContainer(node: "web")))
    }

    @Test("routes: the lab owns its static routes, not the default route its Berth network's attach made")
    func managedRoutes() throws {
        var seen = ObservedNode.missing("web", namespace: "t-web")
        seen.exists = true
        seen.endpoint = try endpoint("web")
        seen.interfaces = [ObservedInterface(link: Link(index: 3, name: "eth0", kind: .veth), addresses: [], impairment: Impairment()),
                           ObservedInterface(link: Link(index: 2, name: "eth1", kind: .veth), addresses: [], impairment: Impairment())]
        let gateway = try IPAddress(parsing: "10.0.9.1")
        let attached = Route(family: .ipv4, gateway: gateway, linkIndex: 3)
        let lab = Route(family: .ipv4, destination: try CIDR(parsing: "10.0.0.0/16"), gateway: try IPAddress(parsing: "10.0.2.1"), linkIndex: 2)
        let backup = Route(family: .ipv4, gateway: try IPAddress(parsing: "10.0.2.1"), linkIndex: 2, metric: 100)
        let kernel = Route(family: .ipv4, destination: try CIDR(parsing: "10.0.9.0/24"), linkIndex: 3, routeProtocol: .kernel)
        #expect(LabPlanner.managed([attached, lab, backup, kernel], seen) == [lab, backup])
        seen.endpoint = nil
        #expect(LabPlanner.managed([attached, lab, kernel], seen) == [attached, lab])
    }
}
