import BerthCore
import Testing

@Suite("CIDR")
struct CIDRTests {
    private func cidr(_ text: String) throws -> CIDR { try CIDR(parsing: text) }
    private func ip(_ text: String) throws -> IPAddress { try IPAddress(parsing: text) }

    @Test(arguments: [
        ("10.88.0.1/16", "10.88.0.1", 16, "10.88.0.0/16"),
        ("10.88.0.0/16", "10.88.0.0", 16, "10.88.0.0/16"),
        ("0.0.0.0/0", "0.0.0.0", 0, "0.0.0.0/0"),
        ("255.255.255.255/0", "255.255.255.255", 0, "0.0.0.0/0"),
        ("192.168.1.77/32", "192.168.1.77", 32, "192.168.1.77/32"),
        ("192.168.1.77/31", "192.168.1.77", 31, "192.168.1.76/31"),
        ("172.17.200.9/12", "172.17.200.9", 12, "172.16.0.0/12"),
        ("fd00::1/64", "fd00::1", 64, "fd00::/64"),
        ("FD00:0:0:0:1::1/48", "fd00:0:0:0:1::1", 48, "fd00::/48"),
        ("::/0", "::", 0, "::/0"),
        ("::1/128", "::1", 128, "::1/128"),
        ("2001:db8:abcd:12ff::1/56", "2001:db8:abcd:12ff::1", 56, "2001:db8:abcd:1200::/56"),
        ("fe80::1:2:3:4/127", "fe80::1:2:3:4", 127, "fe80::1:2:3:4/127"),
    ])
    func parsesAndComputesNetwork(text: String, address: String, prefix: Int, network: String) throws {
        let value = try cidr(text)
        #expect(value.address == (try ip(address)))
        #expect(value.prefixLength == prefix)
        #expect(value.network.description == network)
        #expect(value.networkAddress == value.network.address)
        #expect(value.network.prefixLength == prefix)
        #expect(try cidr(value.description) == value)
        #expect(CIDR(text) == value)
    }

    @Test(arguments: [
        "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08", "10.0.0.0/+8",
        "10.0.0.0/8/8", "10.0.0.0//8", "10.0.0/8", "/8", "", "/", "10.0.0.0/ 8", "10.0.0.0/8 ",
        "10.0.0.0/1000", "10.0.0.0/0032", "::/129", "fd00::/00", "fd00::/0128", "fd00::/ff",
        "fe80::1%eth0/64", "10.0.0.0/٨", "10.0.0.0/99999999999999999999999",
    ])
    func refusesMalformedText(text: String) {
        #expect(CIDR(text) == nil)
        #expect(throws: BerthError.self) { try CIDR(parsing: text) }
    }

    @Test func errorsNameTheFault() {
        func message(_ text: String) -> String? {
            do { _ = try CIDR(parsing: text); return nil } catch { return error.message }
        }
        #expect(message("10.0.0.0")?.contains("no prefix length") == true)
        #expect(message("10.0.0/8")?.contains("\"10.0.0\" is not an IP address") == true)
        #expect(message("10.0.0.0/33")?.contains("from 0 to 32") == true)
        #expect(message("::/129")?.contains("from 0 to 128") == true)
    }

    @Test func memberwiseInitChecksTheWidth() throws {
        let v4 = try ip("10.0.0.1")
        #expect(try CIDR(address: v4, prefixLength: 32).description == "10.0.0.1/32")
        #expect(throws: BerthError.self) { try CIDR(address: v4, prefixLength: 33) }
        #expect(throws: BerthError.self) { try CIDR(address: v4, prefixLength: -1) }
        #expect(try CIDR(address: ip("::"), prefixLength: 128).prefixLength == 128)
        #expect(throws: BerthError.self) { try CIDR(address: ip("::"), prefixLength: 129) }
    }

    @Test func containsAddresses() throws {
        let net = try cidr("10.88.0.1/16")
        #expect(net.contains(try ip("10.88.0.0")))
        #expect(net.contains(try ip("10.88.255.255")))
        #expect(net.contains(try ip("10.88.3.4")))
        #expect(!net.contains(try ip("10.89.0.0")))
        #expect(!net.contains(try ip("10.87.255.255")))
        #expect(!net.contains(try ip("::ffff:10.88.0.1")), "families never mix")
        #expect(try cidr("0.0.0.0/0").contains(ip("255.255.255.255")))
        #expect(try !cidr("0.0.0.0/0").contains(ip("::")))
        #expect(try cidr("::/0").contains(ip("ffff::")))
        #expect(try cidr("fd00::/64").contains(ip("fd00::ffff:ffff:ffff:ffff")))
        #expect(try !cidr("fd00::/64").contains(ip("fd00:0:0:1::")))
        #expect(try cidr("10.0.0.7/32").contains(ip("10.0.0.7")))
        #expect(try !cidr("10.0.0.7/32").contains(ip("10.0.0.6")))
    }

    @Test func containsAndOverlapsPrefixes() throws {
        let wide = try cidr("10.0.0.0/8")
        let narrow = try cidr("10.88.0.0/16")
        let other = try cidr("10.89.0.0/16")
        let v6 = try cidr("::/0")
        #expect(wide.contains(narrow))
        #expect(!narrow.contains(wide))
        #expect(narrow.contains(narrow))
        #expect(!narrow.contains(other))
        #expect(wide.overlaps(narrow) && narrow.overlaps(wide))
        #expect(!narrow.overlaps(other) && !other.overlaps(narrow))
        #expect(narrow.overlaps(try cidr("10.88.7.0/24")))
        #expect(try cidr("0.0.0.0/0").overlaps(narrow))
        #expect(!v6.overlaps(wide) && !wide.overlaps(v6))
        #expect(try cidr("fd00::/8").overlaps(cidr("fdff::/16")))
        #expect(try !cidr("fd00::/16").overlaps(cidr("fd01::/16")))
        #expect(try cidr("10.0.0.1/31").overlaps(cidr("10.0.0.0/32")))
        #expect(try !cidr("10.0.0.2/31").overlaps(cidr("10.0.0.1/32")))
    }

    @Test(arguments: [
        ("10.0.0.0/8", UInt128(1) << 24), ("10.0.0.0/24", 256), ("10.0.0.0/31", 2), ("10.0.0.0/32", 1),
        ("0.0.0.0/0", UInt128(1) << 32), ("fd00::/64", UInt128(1) << 64), ("::1/128", 1),
        ("::/1", UInt128(1) << 127), ("::/0", UInt128.max),
    ])
    func size(text: String, size: UInt128) throws {
        #expect(try cidr(text).size == size)
    }

    @Test func lastAddress() throws {
        #expect(try cidr("10.88.0.1/16").lastAddress == ip("10.88.255.255"))
        #expect(try cidr("10.0.0.5/32").lastAddress == ip("10.0.0.5"))
        #expect(try cidr("0.0.0.0/0").lastAddress == ip("255.255.255.255"))
        #expect(try cidr("fd00::1/64").lastAddress == ip("fd00::ffff:ffff:ffff:ffff"))
        #expect(try cidr("::/0").lastAddress == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
    }

    @Test func ipv4HostsSkipNetworkAndBroadcast() throws {
        let net = try cidr("10.88.0.0/24")
        #expect(net.host(0) == nil, "network address")
        #expect(net.host(1) == (try ip("10.88.0.1")))
        #expect(net.host(254) == (try ip("10.88.0.254")))
        #expect(net.host(255) == nil, "broadcast address")
        #expect(net.host(256) == nil)
        #expect(net.host(.max) == nil)
        #expect(try cidr("10.88.0.77/24").host(2) == ip("10.88.0.2"), "host bits of the given address are ignored")
        let slash30 = try cidr("192.168.0.4/30")
        #expect(slash30.host(0) == nil)
        #expect(slash30.host(1) == (try ip("192.168.0.5")))
        #expect(slash30.host(2) == (try ip("192.168.0.6")))
        #expect(slash30.host(3) == nil)
    }

    @Test func ipv4PointToPointAndSingleHostPrefixes() throws {
        // RFC 3021: both addresses of a /31 are usable; a /32 is one host.
        let slash31 = try cidr("10.0.0.1/31")
        #expect(slash31.host(0) == (try ip("10.0.0.0")))
        #expect(slash31.host(1) == (try ip("10.0.0.1")))
        #expect(slash31.host(2) == nil)
        let slash32 = try cidr("10.0.0.9/32")
        #expect(slash32.host(0) == (try ip("10.0.0.9")))
        #expect(slash32.host(1) == nil)
    }

    @Test func ipv6Hosts() throws {
        let net = try cidr("fd00::/64")
        #expect(net.host(1) == (try ip("fd00::1")))
        #expect(net.host(0xffff) == (try ip("fd00::ffff")))
        #expect(net.host((UInt128(1) << 64) - 1) == (try ip("fd00::ffff:ffff:ffff:ffff")), "IPv6 has no broadcast")
        #expect(net.host(UInt128(1) << 64) == nil)
        #expect(try cidr("::1/128").host(0) == ip("::1"))
        #expect(try cidr("::1/128").host(1) == nil)
        #expect(try cidr("fd00::/127").host(1) == ip("fd00::1"))
    }

    @Test func offsetInvertsHost() throws {
        let net = try cidr("10.88.0.0/16")
        #expect(net.offset(of: try ip("10.88.0.0")) == 0)
        #expect(net.offset(of: try ip("10.88.1.2")) == 258)
        #expect(net.offset(of: try ip("10.89.0.0")) == nil)
        #expect(net.offset(of: try ip("fd00::1")) == nil)
        for n: UInt128 in [1, 2, 255, 256, 65534] {
            let host = try #require(net.host(n))
            #expect(net.offset(of: host) == n)
        }
        let v6 = try cidr("fd00:1::/32")
        let far = try #require(v6.host(UInt128(1) << 90 | 7))
        #expect(far.description == "fd00:1:400::7")
        #expect(v6.offset(of: far) == UInt128(1) << 90 | 7)
    }

    @Test func keepsTheGivenAddress() throws {
        #expect(try cidr("10.88.0.1/16") != cidr("10.88.0.0/16"))
        #expect(try cidr("10.88.0.1/16").network == cidr("10.88.0.0/16"))
        #expect(try cidr("10.88.0.1/16").family == .ipv4)
        #expect(try cidr("fd00::1/64").family == .ipv6)
    }

    @Test func codableAsString() throws {
        let value = try cidr("fd00::1/64")
        let (decoded, json) = try jsonRoundTrip([value, try cidr("10.88.0.1/16")])
        #expect(json == #"{"value":["fd00::1/64","10.88.0.1/16"]}"#)
        #expect(decoded == [value, try cidr("10.88.0.1/16")])
        #expect(throws: DecodingError.self) { try jsonDecode(CIDR.self, fromValue: #""10.0.0.0/33""#) }
        #expect(throws: DecodingError.self) { try jsonDecode(CIDR.self, fromValue: #"{"address":"10.0.0.0","prefixLength":8}"#) }
    }
}
