@testable import berth
import BerthCore
import BerthNamespace
import BerthNetwork
import BerthRun
import Testing

/// `port`, `inspect` and `ps --json` list a container's mappings in the order of its specs.
@Suite("berth port: the order of the specs")
struct PortOrderTests {
    private func port(_ host: UInt16, _ container: UInt16, _ address: String = "0.0.0.0", _ proto: TransportProtocol = .tcp) throws -> PortMappingRecord {
        PortMappingRecord(endpointID: "e", proto: proto, hostAddress: try IPAddress(parsing: address), hostPort: host, containerPort: container)
    }

    @Test("-p 9000-9002 -p 53/udp with free host ports: spec order, container port order within the range, IPv4 before IPv6; not the host ports' order")
    func specOrder() throws {
        let specs = try ["9000-9002", "53/udp"].map { try PortSpec(parsing: $0) }
        // As the store returns them: by protocol, then host port.
        let stored = [try port(32770, 9002), try port(32771, 9000, "::"), try port(32771, 9000), try port(32772, 9001), try port(32769, 53, "0.0.0.0", .udp)]
        let order = PortOrder.sorted(stored.sorted { $0.hostPort < $1.hostPort }, specs: specs)
        #expect(order.map(\.description) == [try port(32771, 9000), try port(32771, 9000, "::"), try port(32772, 9001), try port(32770, 9002),
                                              try port(32769, 53, "0.0.0.0", .udp)].map(\.description))
        // Without specs (an endpoint of 'berth attach'): by container port.
        #expect(PortOrder.sorted(stored, specs: []).map(\.containerPort) == [53, 9000, 9000, 9001, 9002])
        // inspect's NetworkSettings.Ports keys follow it.
        let record = ContainerRecord(id: String(repeating: "f", count: 64), name: "web", endpointID: "e", network: "n", process: nil, supervisor: nil,
                                     command: ["true"], hostname: "web", rootfs: nil, status: .running, created: 1,
                                     options: RunOptions(process: ContainerSpec(command: ["true"]), ports: specs))
        var endpoint = EndpointRecord(id: "e", network: "n", namespacePath: "/proc/1/ns/net", namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                                      interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"),
                                      address: try IPv4Address(parsing: "10.7.0.2"), mac: try MACAddress(parsing: "02:42:0a:07:00:02"), created: 1)
        endpoint.ports = stored
        guard case .object(let members)? = ContainerInspection.networkSettings(record, endpoint: endpoint)["Ports"] else {
            Issue.record("no Ports")
            return
        }
        #expect(members.map(\.0) == ["9000/tcp", "9001/tcp", "9002/tcp", "53/udp"])
        guard case .array(let rows)? = ContainerTable.json(record, endpoint: endpoint)["ports"] else {
            Issue.record("no ports")
            return
        }
        let first = NetworkJSON.port(try port(32771, 9000))
        #expect(rows.count == 5 && rows.first == first)
    }
}
