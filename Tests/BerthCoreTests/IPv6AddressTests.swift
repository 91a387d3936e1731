import Foundation
import BerthCore
import Testing

@Suite("IPv6Address")
struct IPv6AddressTests {
    /// RFC 4291 section 2.2 text forms, each with the RFC 5952 canonical form it must print as.
    @Test(arguments: [
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("FF01:0:0:0:0:0:0:101", "ff01::101"),
        ("fe80::1", "fe80::1"),
        ("fd00::", "fd00::"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        // One zero group is not compressed (RFC 5952 4.2.2).
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        // The longest run is compressed; on a tie, the first (RFC 5952 4.2.3).
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        // Leading zeros dropped, lower case (RFC 5952 4.1, 4.3).
        ("2001:0DB8::0001", "2001:db8::1"),
        ("0001:0002::000a", "1:2::a"),
        // Embedded IPv4 (RFC 4291 2.2 form 3).
        ("::13.1.68.3", "::d01:4403"),
        ("0:0:0:0:0:0:13.1.68.3", "::d01:4403"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String) throws {
        let address = try IPv6Address(parsing: text)
        #expect(address.description == canonical)
        let reparsed = try IPv6Address(parsing: canonical)
        #expect(reparsed == address)
        #expect(reparsed.description == canonical)
    }

    /// RFC 5952 section 5: IPv4-mapped addresses print in mixed notation, as `ip -6` and
    /// inet_ntop(3) print them; other embedded forms stay hex.
    @Test(arguments: [
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::FFFF:a00:1", "::ffff:10.0.0.1"),
        ("0:0:0:0:0:ffff:192.0.2.128", "::ffff:192.0.2.128"),
        ("::ffff:0:0", "::ffff:0.0.0.0"),
        ("::ffff:255.255.255.255", "::ffff:255.255.255.255"),
        ("::fffe:10.0.0.1", "::fffe:a00:1"),
        ("1::ffff:10.0.0.1", "1::ffff:a00:1"),
        ("::1:ffff:10.0.0.1", "::1:ffff:a00:1"),
    ])
    func ipv4MappedPrintsInMixedNotation(text: String, canonical: String) throws {
        let address = try IPv6Address(parsing: text)
        #expect(address.description == canonical)
        #expect(try IPv6Address(parsing: canonical) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "::::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::", "::g",
        "fe80::1%eth0", "fe80::1%1", "1:2:3:4:5:6:7:8:", "1::2:", "1:", ":1::", ":1:2:3:4:5:6:7:8",
        "1::2::3", "1:::2", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8",
        "1.2.3.4", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "::1.2.3.4:5", "1.2.3.4::",
        "1:2:3:4:5:6:7:1.2.3.4", "::1:2:3:4:5:6:1.2.3.4", "1:2:1.2.3.4", "[::1]", " ::1", "::1 ",
        "::-1", "::+1", "0x1::", "fe80::1/64", "1:2:3:4:5:6:7:8%", "::ffff:1.2.3.4.5",
        "0000:0000:0000:0000:0000:0000:0000:0000:", "00000::",
    ])
    func refusesMalformedText(text: String) {
        #expect(IPv6Address(text) == nil)
        #expect(throws: BerthError.self) { try IPv6Address(parsing: text) }
    }

    @Test func longestValidText() throws {
        let text = "0000:0000:0000:0000:0000:ffff:255.255.255.255"
        #expect(text.utf8.count == 45)
        let address = try IPv6Address(parsing: text)
        #expect(address.value == 0xFFFF_FFFF_FFFF)
        #expect(IPv6Address(text + "0") == nil)
    }

    @Test func zoneIsRefusedWithAHint() {
        do {
            _ = try IPv6Address(parsing: "fe80::1%eth0")
            Issue.record("accepted a zone")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("fe80::1%eth0"))
            #expect(error.hint != nil)
        }
    }

    @Test func groupsAndBytes() {
        let address = IPv6Address(groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
        #expect(address.description == "2001:db8::1")
        #expect(address.groups == [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
        #expect(address.bytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(IPv6Address(bytes: address.bytes) == address)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(address.value >> 112 == 0x2001)
    }

    @Test func classification() throws {
        #expect(IPv6Address.loopback.isLoopback)
        #expect(IPv6Address.loopback.description == "::1")
        #expect(IPv6Address.any.isUnspecified)
        #expect(IPv6Address.any.description == "::")
        #expect(try IPv6Address(parsing: "fe80::1").isLinkLocal)
        #expect(try IPv6Address(parsing: "febf:ffff::1").isLinkLocal)
        #expect(try !IPv6Address(parsing: "fec0::1").isLinkLocal)
        #expect(try !IPv6Address(parsing: "fe7f::1").isLinkLocal)
        #expect(try IPv6Address(parsing: "ff02::1").isMulticast)
        #expect(try !IPv6Address(parsing: "fe02::1").isMulticast)
        #expect(try !IPv6Address(parsing: "::2").isLoopback)
    }

    @Test func ordersNumerically() {
        let sorted = ["fd00::10", "fd00::9", "::1", "fd00::a"].compactMap(IPv6Address.init).sorted()
        #expect(sorted.map(\.description) == ["::1", "fd00::9", "fd00::a", "fd00::10"])
    }

    @Test(arguments: [
        UInt128(0), 1, UInt128.max, UInt128(1) << 127, UInt128(0xFFFF) << 32,
        UInt128(0x2001_0db8) << 96 | 1, UInt128(0xfe80) << 112 | 0xffff, UInt128(1) << 16,
        UInt128(0x0001_0000_0000_0000) << 64 | 0x0000_0001_0000_0001,
    ])
    func descriptionRoundTrips(value: UInt128) throws {
        let address = IPv6Address(value)
        #expect(try IPv6Address(parsing: address.description) == address)
    }

    /// Every placement of zero runs in an 8-group address prints in a form that parses back.
    @Test func everyZeroPatternRoundTrips() throws {
        for mask in 0..<256 {
            let groups = (0..<8).map { mask & (1 << $0) == 0 ? UInt16(0) : UInt16($0 + 1) }
            let address = IPv6Address(groups: groups)
            let text = address.description
            #expect(try IPv6Address(parsing: text) == address, "\(text)")
            #expect(!text.contains(":::"), "\(text)")
            #expect(text.components(separatedBy: "::").count <= 2, "\(text)")
        }
    }

    @Test func codableAsString() throws {
        let address = try IPv6Address(parsing: "FD00:0::1")
        let (decoded, json) = try jsonRoundTrip(address)
        #expect(json == #"{"value":"fd00::1"}"#)
        #expect(decoded == address)
        #expect(throws: DecodingError.self) { try jsonDecode(IPv6Address.self, fromValue: #""fe80::1%eth0""#) }
    }
}
