import BerthCore
@testable import BerthNetwork
import BerthNFTables
import Testing

@Suite("publishing: the batch's element order")
struct FirewallElementOrderTests {
    @Test("a dual-stack range's elements come map by map (a batch message holds one map's elements), in the order the maps first appear")
    func mapByMap() throws {
        let firewall = Firewall(backend: FakeBackend(), instance: StateInstance(id: "f4ce0001"))
        func mapping(_ host: String, _ port: UInt16) -> PortMappingRecord {
            PortMappingRecord(endpointID: "r", proto: .tcp, hostAddress: IPAddress(host)!, hostPort: port, containerPort: port)
        }
        var endpoint = try Fixture.endpoint("r", address: ip("10.88.0.2"))
        endpoint.ipv6Address = IPv6Address("fd00::2")
        endpoint.ports = (UInt16(20000)...20002).flatMap { [mapping("0.0.0.0", $0), mapping("::", $0)] } + [mapping("127.0.0.1", 30000)]
        let elements = firewall.elements(of: endpoint)
        #expect(elements.map { "\($0.1.family) \($0.1.name) \($0.0.rendered)" } == [
            "ip publish_any tcp . 20000 comment \"berth-endpoint r @f4ce0001\" : 10.88.0.2 . 20000",
            "ip publish_any tcp . 20001 comment \"berth-endpoint r @f4ce0001\" : 10.88.0.2 . 20001",
            "ip publish_any tcp . 20002 comment \"berth-endpoint r @f4ce0001\" : 10.88.0.2 . 20002",
            "ip6 publish_any tcp . 20000 comment \"berth-endpoint r @f4ce0001\" : fd00::2 . 20000",
            "ip6 publish_any tcp . 20001 comment \"berth-endpoint r @f4ce0001\" : fd00::2 . 20001",
            "ip6 publish_any tcp . 20002 comment \"berth-endpoint r @f4ce0001\" : fd00::2 . 20002",
            "ip publish_addr 127.0.0.1 . tcp . 30000 comment \"berth-endpoint r @f4ce0001\" : 10.88.0.2 . 30000",
        ])
        // Not interleaved: mapping order as it was.
        endpoint.ports = [mapping("127.0.0.1", 30000), mapping("0.0.0.0", 8080)]
        #expect(firewall.elements(of: endpoint).map(\.1.name) == ["publish_addr", "publish_any"])
    }
}
