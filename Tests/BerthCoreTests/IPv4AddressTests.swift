import BerthCore
import Testing

@Suite("IPv4Address")
struct IPv4AddressTests {
    @Test(arguments: [
        ("0.0.0.0", UInt32(0)),
        ("10.88.0.1", 0x0A58_0001),
        ("127.0.0.1", 0x7F00_0001),
        ("192.168.1.254", 0xC0A8_01FE),
        ("255.255.255.255", 0xFFFF_FFFF),
        ("1.2.3.4", 0x0102_0304),
    ])
    func parsesDottedQuad(text: String, value: UInt32) throws {
        let address = try IPv4Address(parsing: text)
        #expect(address.value == value)
        #expect(address.description == text)
        #expect(IPv4Address(text) == address)
    }

    @Test(arguments: [
        "", "1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "256.0.0.1", "1.2.3.256",
        "01.2.3.4", "1.2.3.04", "1.2.3.00", "0x1.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
        "a.b.c.d", "1.2.3.4/32", "1000.2.3.4", "1.2.3.4:80", "::1", "١.٢.٣.٤",
    ])
    func refusesMalformedText(text: String) {
        #expect(IPv4Address(text) == nil)
        #expect(throws: BerthError.self) { try IPv4Address(parsing: text) }
    }

    @Test func errorNamesTheValueAndTheFix() {
        do {
            _ = try IPv4Address(parsing: "10.0.0.256")
            Issue.record("parsed an invalid address")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("\"10.0.0.256\""))
            #expect(error.hint?.contains("0-255") == true)
        }
    }

    @Test func octetsAndBytes() {
        let address = IPv4Address(10, 88, 0, 2)
        #expect(address.value == 0x0A58_0002)
        #expect(address.bytes == [10, 88, 0, 2])
        #expect(IPv4Address(bytes: [10, 88, 0, 2]) == address)
        #expect(IPv4Address(bytes: [10, 88, 0]) == nil)
        #expect(IPv4Address(bytes: [10, 88, 0, 2, 1]) == nil)
        #expect(IPv4Address(bytes: [UInt8]()) == nil)
    }

    @Test func classification() {
        #expect(IPv4Address(127, 0, 0, 1).isLoopback)
        #expect(IPv4Address(127, 255, 0, 9).isLoopback)
        #expect(!IPv4Address(128, 0, 0, 1).isLoopback)
        #expect(IPv4Address.any.isUnspecified)
        #expect(!IPv4Address.loopback.isUnspecified)
        #expect(IPv4Address(224, 0, 0, 1).isMulticast)
        #expect(IPv4Address(239, 255, 255, 255).isMulticast)
        #expect(!IPv4Address(240, 0, 0, 0).isMulticast)
        #expect(!IPv4Address(223, 255, 255, 255).isMulticast)
        #expect(IPv4Address.loopback.description == "127.0.0.1")
    }

    @Test func ordersNumerically() {
        let sorted = ["10.0.0.10", "10.0.0.9", "9.255.255.255", "10.0.1.0"].compactMap(IPv4Address.init).sorted()
        #expect(sorted.map(\.description) == ["9.255.255.255", "10.0.0.9", "10.0.0.10", "10.0.1.0"])
    }

    @Test(arguments: [UInt32(0), 1, 0x0A58_0001, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xC0A8_0101])
    func descriptionRoundTrips(value: UInt32) throws {
        let address = IPv4Address(value)
        #expect(try IPv4Address(parsing: address.description) == address)
    }

    @Test func codableAsString() throws {
        let (decoded, json) = try jsonRoundTrip(IPv4Address(10, 88, 0, 1))
        #expect(json == #"{"value":"10.88.0.1"}"#)
        #expect(decoded == IPv4Address(10, 88, 0, 1))
        #expect(throws: DecodingError.self) { try jsonDecode(IPv4Address.self, fromValue: #""10.88.0.300""#) }
        #expect(throws: DecodingError.self) { try jsonDecode(IPv4Address.self, fromValue: "167772161") }
    }
}
