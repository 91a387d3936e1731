import BerthCore
import Testing

@Suite("IPAddress")
struct IPAddressTests {
    @Test(arguments: [
        ("10.88.0.2", IPFamily.ipv4, "10.88.0.2"),
        ("0.0.0.0", .ipv4, "0.0.0.0"),
        ("fd00::2", .ipv6, "fd00::2"),
        ("FD00:0:0::2", .ipv6, "fd00::2"),
        ("::", .ipv6, "::"),
        ("::10.0.0.1", .ipv6, "::a00:1"),
    ])
    func parsesEitherFamily(text: String, family: IPFamily, canonical: String) throws {
        let address = try IPAddress(parsing: text)
        #expect(address.family == family)
        #expect(address.description == canonical)
        #expect(try IPAddress(parsing: canonical) == address)
        #expect(IPAddress(text) == address)
        #expect(address.bytes.count == family.bitWidth / 8)
        #expect(IPAddress(bytes: address.bytes) == address)
    }

    @Test(arguments: ["", "10.0.0", "10.0.0.1.", "fe80::1%eth0", ":::", "host", "10.0.0.1/8", "[::1]"])
    func refusesMalformedText(text: String) {
        #expect(IPAddress(text) == nil)
        #expect(throws: BerthError.self) { try IPAddress(parsing: text) }
    }

    @Test func errorHintShowsBothFamilies() {
        do {
            _ = try IPAddress(parsing: "nope")
            Issue.record("parsed nonsense")
        } catch {
            #expect(error.message == "invalid IP address \"nope\"")
            #expect(error.hint?.contains("10.88.0.2") == true)
            #expect(error.hint?.contains("fd00::2") == true)
        }
    }

    @Test func familyAccessors() throws {
        let v4 = try IPAddress(parsing: "127.0.0.1")
        let v6 = try IPAddress(parsing: "::1")
        #expect(v4.ipv4 == IPv4Address.loopback)
        #expect(v4.ipv6 == nil)
        #expect(v6.ipv6 == IPv6Address.loopback)
        #expect(v6.ipv4 == nil)
        #expect(v4.isLoopback && v6.isLoopback)
        #expect(try IPAddress(parsing: "0.0.0.0").isUnspecified)
        #expect(try IPAddress(parsing: "::").isUnspecified)
        #expect(!v4.isUnspecified && !v6.isUnspecified)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPFamily.ipv4.bitWidth == 32 && IPFamily.ipv6.bitWidth == 128)
        #expect(IPFamily.ipv4.description == "ipv4" && IPFamily.ipv6.description == "ipv6")
    }

    @Test func ipv4SortsBeforeIPv6() {
        let sorted = ["fd00::1", "10.0.0.2", "::1", "10.0.0.1", "255.255.255.255"].compactMap(IPAddress.init).sorted()
        #expect(sorted.map(\.description) == ["10.0.0.1", "10.0.0.2", "255.255.255.255", "::1", "fd00::1"])
    }

    @Test func codableAsString() throws {
        let (v4, json4) = try jsonRoundTrip(IPAddress.v4(IPv4Address(10, 0, 0, 1)))
        #expect(json4 == #"{"value":"10.0.0.1"}"#)
        #expect(v4 == .v4(IPv4Address(10, 0, 0, 1)))
        let (v6, json6) = try jsonRoundTrip(IPAddress.v6(.loopback))
        #expect(json6 == #"{"value":"::1"}"#)
        #expect(v6 == .v6(.loopback))
        let (families, jsonFamilies) = try jsonRoundTrip([IPFamily.ipv4, .ipv6])
        #expect(families == [.ipv4, .ipv6])
        #expect(jsonFamilies == #"{"value":["ipv4","ipv6"]}"#)
        #expect(throws: DecodingError.self) { try jsonDecode(IPAddress.self, fromValue: #""10.0.0.1.""#) }
    }
}
