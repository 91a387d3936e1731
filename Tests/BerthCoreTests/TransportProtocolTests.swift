import BerthCore
import Testing

@Suite("TransportProtocol")
struct TransportProtocolTests {
    @Test func ipProtocolNumbers() {
        #expect(TransportProtocol.tcp.ipProtocolNumber == 6)
        #expect(TransportProtocol.udp.ipProtocolNumber == 17)
        #expect(TransportProtocol.sctp.ipProtocolNumber == 132)
        #expect(TransportProtocol.allCases.map(\.description) == ["tcp", "udp", "sctp"])
    }

    @Test(arguments: [("tcp", TransportProtocol.tcp), ("UDP", .udp), ("Sctp", .sctp)])
    func parsesAnyCase(text: String, expected: TransportProtocol) throws {
        #expect(try TransportProtocol(parsing: text) == expected)
    }

    @Test(arguments: ["", "icmp", "tcp ", "tcp6", "6"])
    func refusesUnknown(text: String) {
        #expect(throws: BerthError.self) { try TransportProtocol(parsing: text) }
    }

    @Test func codableAsString() throws {
        let (decoded, json) = try jsonRoundTrip([TransportProtocol.tcp, .udp, .sctp])
        #expect(json == #"{"value":["tcp","udp","sctp"]}"#)
        #expect(decoded == [.tcp, .udp, .sctp])
    }
}
