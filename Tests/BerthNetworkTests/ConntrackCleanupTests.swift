import BerthCore
@testable import BerthNetwork
import Testing

@Suite("conntrack cleanup filters")
struct ConntrackCleanupTests {
    @Test("a published datagram range is one conntrack filter, not one a port; TCP ports and repeats add none")
    func conntrackFiltersMergeRanges() throws {
        func udp(_ host: String, _ port: UInt16, _ proto: TransportProtocol = .udp) -> PortMappingRecord {
            PortMappingRecord(endpointID: "r", proto: proto, hostAddress: IPAddress(host)!, hostPort: port, containerPort: port)
        }
        var ports: [PortMappingRecord] = []
        // A dual-stack range as the allocator lists it: each IPv4 mapping before its IPv6 twin.
        for port in UInt16(20000)...20999 { ports += [udp("0.0.0.0", port), udp("::", port)] }
        ports += [udp("0.0.0.0", 8080, .tcp), udp("0.0.0.0", 9002, .sctp), udp("0.0.0.0", 9000, .sctp), udp("0.0.0.0", 9000, .sctp),
                  udp("127.0.0.1", 5353), udp("127.0.0.1", 5354), udp("0.0.0.0", 65535), udp("0.0.0.0", 1)]
        var endpoint = try Fixture.endpoint("r", address: ip("10.88.0.2"), ports: ports)
        endpoint.ipv6Address = IPv6Address("fd00::2")
        #expect(ConntrackCleanup.filters(for: endpoint, includingAddress: false).map(\.description)
            == ["udp dport 1", "udp dport 20000-20999", "udp dport 65535", "sctp dport 9000", "sctp dport 9002", "udp dport 5353-5354 to 127.0.0.1"])
        #expect(ConntrackCleanup.filters(for: endpoint, includingAddress: true).suffix(2).map(\.description) == ["address 10.88.0.2", "address fd00::2"])
        endpoint.ports = [udp("0.0.0.0", 8080, .tcp)]
        #expect(ConntrackCleanup.filters(for: endpoint, includingAddress: true).isEmpty)
    }
}
