import BerthCore
import BerthNetwork
import Testing

/// `PortKey` as errors name a port: its description reads back to the same key.
@Suite("PortKey")
struct PortKeyTests {
    @Test("a key's description reads back to the key, for both families and every protocol; anything else is nil")
    func roundTrip() throws {
        let keys = [
            PortKey(proto: .tcp, hostAddress: try IPAddress(parsing: "0.0.0.0"), hostPort: 8080),
            PortKey(proto: .udp, hostAddress: try IPAddress(parsing: "127.0.0.1"), hostPort: 53),
            PortKey(proto: .sctp, hostAddress: try IPAddress(parsing: "::"), hostPort: 1),
            PortKey(proto: .tcp, hostAddress: try IPAddress(parsing: "fd00::1"), hostPort: 65535),
        ]
        for key in keys { #expect(PortKey(key.description) == key, "\(key)") }
        for bad in ["", "tcp", "tcp 0.0.0.0", "tcp 0.0.0.0:", "tcp 0.0.0.0:65536", "icmp 0.0.0.0:1", "tcp ::1:80", "tcp [x]:80", "tcp  0.0.0.0:80"] {
            #expect(PortKey(bad) == nil, "\(bad)")
        }
    }
}
