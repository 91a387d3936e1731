import BerthCore
import Testing

@Suite("UniqueLocalPrefix")
struct UniqueLocalPrefixTests {
    /// A generator that returns fixed words, to see how a draw becomes a prefix.
    struct FixedGenerator: RandomNumberGenerator {
        var words: [UInt64]
        mutating func next() -> UInt64 { words.isEmpty ? 0 : words.removeFirst() }
    }

    @Test("the text form is the /48: fd, then the 40-bit global ID")
    func textForm() throws {
        let prefix = try #require(UniqueLocalPrefix(globalID: 0x12_3456_789A))
        #expect(prefix.description == "fd12:3456:789a::/48")
        #expect(prefix.prefix == CIDR("fd12:3456:789a::/48"))
        #expect(try UniqueLocalPrefix(parsing: "fd12:3456:789a::/48") == prefix)
        #expect(UniqueLocalPrefix(globalID: 0)?.description == "fd00::/48")
        #expect(UniqueLocalPrefix(globalID: UniqueLocalPrefix.maxGlobalID)?.description == "fdff:ffff:ffff::/48")
        #expect(UniqueLocalPrefix(globalID: UniqueLocalPrefix.maxGlobalID + 1) == nil)
    }

    @Test("subnets are the /64s numbered by the 16-bit subnet ID, and back")
    func subnets() throws {
        let prefix = try #require(UniqueLocalPrefix(globalID: 0x12_3456_789A))
        #expect(prefix.subnet(0).description == "fd12:3456:789a::/64")
        #expect(prefix.subnet(1).description == "fd12:3456:789a:1::/64")
        #expect(prefix.subnet(0xBEEF).description == "fd12:3456:789a:beef::/64")
        #expect(prefix.subnet(0xFFFF).description == "fd12:3456:789a:ffff::/64")
        #expect(prefix.subnetID(of: prefix.subnet(0xBEEF)) == 0xBEEF)
        #expect(prefix.subnetID(of: CIDR("fd12:3456:789b:1::/64")!) == nil)
        #expect(prefix.subnetID(of: CIDR("fd12:3456:789a:1::/80")!) == nil)
    }

    @Test("a random prefix takes 40 bits of the generator and stays in fd00::/8")
    func random() throws {
        var generator = FixedGenerator(words: [0xFFFF_FF12_3456_789A])
        let drawn = UniqueLocalPrefix.random(using: &generator)
        #expect(drawn.globalID <= UniqueLocalPrefix.maxGlobalID)
        #expect(drawn.prefix.address.ipv6?.isUniqueLocal == true)
        #expect(drawn.description.hasPrefix("fd"))
        // The system's source: two draws collide once in 2^40.
        #expect(UniqueLocalPrefix.random() != UniqueLocalPrefix.random())
    }

    @Test("parsing refuses anything but an fd00::/8 /48 with nothing past the global ID", arguments: [
        "fc00::/48", "fe80::/48", "fd12:3456:789a::/64", "fd12:3456:789a:1::/48", "fd12:3456::1/48", "10.0.0.0/8", "fd12::", "",
    ])
    func refuses(text: String) {
        let error = #expect(throws: BerthError.self) { try UniqueLocalPrefix(parsing: text) }
        #expect(error?.code == .invalidArgument)
        #expect(UniqueLocalPrefix(text) == nil)
    }

    @Test("unique local and IPv4-mapped addresses are recognised")
    func addressKinds() throws {
        for text in ["fc00::", "fd00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"] { #expect(IPv6Address(text)?.isUniqueLocal == true, "\(text)") }
        for text in ["fbff:ffff::1", "fe00::", "2001:db8::1", "::1"] { #expect(IPv6Address(text)?.isUniqueLocal == false, "\(text)") }
        #expect(IPv6Address("::ffff:10.0.0.1")?.isIPv4Mapped == true)
        #expect(IPv6Address("::10.0.0.1")?.isIPv4Mapped == false)
        #expect(IPv6Address("64:ff9b::10.0.0.1")?.isIPv4Mapped == false)
    }
}
