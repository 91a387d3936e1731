import BerthCore
import Testing

@Suite("PortMapping")
struct PortMappingTests {
    @Test func describesLikeDockerPs() throws {
        #expect(try PortMapping(hostPort: 8080, containerPort: 80).description == "0.0.0.0:8080->80/tcp")
        #expect(try PortMapping(protocol: .udp, hostAddress: IPAddress(parsing: "127.0.0.1"), hostPort: 8080, containerPort: 80).description
            == "127.0.0.1:8080->80/udp")
        #expect(try PortMapping(hostAddress: IPAddress(parsing: "::1"), hostPort: 8080, containerPort: 80).description
            == "[::1]:8080->80/tcp")
        #expect(try PortMapping(protocol: .sctp, hostAddress: IPAddress(parsing: "::"), hostPort: 1, containerPort: 65535).description
            == "[::]:1->65535/sctp")
        #expect(try PortMapping(hostAddress: IPAddress(parsing: "fd00::1"), hostPort: 443, containerPort: 8443).hostEndpoint
            == "[fd00::1]:443")
    }

    @Test func allAddressesIsDistinctFromIPv4Any() throws {
        let all = try PortMapping(hostPort: 80, containerPort: 80)
        let v4any = try PortMapping(hostAddress: IPAddress(parsing: "0.0.0.0"), hostPort: 80, containerPort: 80)
        #expect(all.description == v4any.description)
        #expect(all != v4any, "nil binds both families, 0.0.0.0 only IPv4")
    }

    @Test func refusesPortZero() {
        #expect(throws: BerthError.self) { try PortMapping(hostPort: 0, containerPort: 80) }
        #expect(throws: BerthError.self) { try PortMapping(hostPort: 80, containerPort: 0) }
    }

    @Test func codableAsObject() throws {
        let mapping = try PortMapping(protocol: .udp, hostAddress: IPAddress(parsing: "::1"), hostPort: 5353, containerPort: 53)
        let (decoded, json) = try jsonRoundTrip(mapping)
        #expect(json == #"{"value":{"containerPort":53,"hostAddress":"::1","hostPort":5353,"protocol":"udp"}}"#)
        #expect(decoded == mapping)
        let all = try PortMapping(hostPort: 80, containerPort: 8080)
        let (decodedAll, jsonAll) = try jsonRoundTrip(all)
        #expect(jsonAll == #"{"value":{"containerPort":8080,"hostPort":80,"protocol":"tcp"}}"#)
        #expect(decodedAll == all)
        #expect(throws: DecodingError.self) {
            try jsonDecode(PortMapping.self, fromValue: #"{"containerPort":0,"hostPort":80,"protocol":"tcp"}"#)
        }
        #expect(throws: DecodingError.self) {
            try jsonDecode(PortMapping.self, fromValue: #"{"containerPort":80,"hostPort":70000,"protocol":"tcp"}"#)
        }
        #expect(throws: DecodingError.self) {
            try jsonDecode(PortMapping.self, fromValue: #"{"containerPort":80,"hostPort":80,"protocol":"icmp"}"#)
        }
    }
}
