import BerthCore
import BerthNetwork
import Testing

@Suite("IPAM IPv6")
struct IPAMIPv6Tests {
    private func v6(_ text: String) -> IPv6Address { IPv6Address(text)! }
    private func cidr(_ text: String) -> CIDR { CIDR(text)! }

    @Test("a /64 and its first host as gateway pass; so do /48 and /126")
    func validSubnets() throws {
        try IPAM.validateIPv6(subnet: cidr("fd00:1::/64"), gateway: v6("fd00:1::1"))
        try IPAM.validateIPv6(subnet: cidr("2001:db8::/48"), gateway: v6("2001:db8::ffff"))
        try IPAM.validateIPv6(subnet: cidr("fd00:1::/126"), gateway: v6("fd00:1::3"))
        #expect(IPAM.defaultIPv6Gateway(for: cidr("fd00:1::/64")) == v6("fd00:1::1"))
        #expect(IPAM.defaultIPv6Gateway(for: cidr("2001:db8:5:6::/64")) == v6("2001:db8:5:6::1"))
    }

    @Test("bad subnets and gateways are refused, naming the value and the parameter", arguments: [
        ("10.0.0.0/24", "fd00::1", "subnet 10.0.0.0/24 is not IPv6", "ipv6Subnet"),
        ("fd00:1::5/64", "fd00:1::1", "IPv6 subnet fd00:1::5/64 has host bits set", "ipv6Subnet"),
        ("fd00:1::/127", "fd00:1::1", "IPv6 subnet fd00:1::/127 is too small for a network", "ipv6Subnet"),
        ("fd00:1::1/128", "fd00:1::1", "IPv6 subnet fd00:1::1/128 is too small for a network", "ipv6Subnet"),
        ("fe80::/64", "fe80::1", "IPv6 subnet fe80::/64 overlaps fe80::/10 (link-local addresses)", "ipv6Subnet"),
        ("ff05::/64", "ff05::1", "IPv6 subnet ff05::/64 overlaps ff00::/8 (multicast addresses)", "ipv6Subnet"),
        ("::ffff:0:0/112", "::ffff:0:1", "IPv6 subnet ::ffff:0.0.0.0/112 overlaps ::ffff:0.0.0.0/96 (IPv4-mapped addresses)", "ipv6Subnet"),
        ("::/64", "::1", "IPv6 subnet ::/64 overlaps ::/128 (the unspecified address)", "ipv6Subnet"),
        ("fd00:1::/64", "fd00:2::1", "IPv6 gateway fd00:2::1 is not inside subnet fd00:1::/64", "ipv6Gateway"),
        ("fd00:1::/64", "fd00:1::", "IPv6 gateway fd00:1:: is the subnet-router anycast address of fd00:1::/64", "ipv6Gateway"),
    ])
    func refused(subnet: String, gateway: String, message: String, parameter: String) {
        let error = #expect(throws: BerthError.self) { try IPAM.validateIPv6(subnet: cidr(subnet), gateway: v6(gateway)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == message)
        #expect(error?.parameter == parameter)
    }

    @Test("the lowest free address from the start, skipping the anycast address, the gateway and leases")
    func lowestFree() {
        let subnet = cidr("fd00:1::/64")
        #expect(IPAM.lowestFreeIPv6(in: subnet, gateway: v6("fd00:1::1"), leased: []) == v6("fd00:1::2"))
        #expect(IPAM.lowestFreeIPv6(in: subnet, gateway: v6("fd00:1::1"), leased: [v6("fd00:1::2"), v6("fd00:1::3"), v6("fd00:1::5")]) == v6("fd00:1::4"))
        // A gateway that is not the first host leaves ::1 to an endpoint.
        #expect(IPAM.lowestFreeIPv6(in: subnet, gateway: v6("fd00:1::ffff"), leased: []) == v6("fd00:1::1"))
        // Leases far from the start (--ip6) do not matter until reached.
        #expect(IPAM.lowestFreeIPv6(in: subnet, gateway: v6("fd00:1::1"), leased: [v6("fd00:1::2"), v6("fd00:1:0:0:8000::")]) == v6("fd00:1::3"))
        // A /126: ::1 gateway, ::2 and ::3 for endpoints, then full.
        let small = cidr("fd00:1::/126")
        #expect(IPAM.lowestFreeIPv6(in: small, gateway: v6("fd00:1::1"), leased: [v6("fd00:1::2")]) == v6("fd00:1::3"))
        #expect(IPAM.lowestFreeIPv6(in: small, gateway: v6("fd00:1::1"), leased: [v6("fd00:1::2"), v6("fd00:1::3")]) == nil)
        // The last address of the address space is a candidate like any other, and then there is none.
        let top = cidr("fdff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126")
        #expect(IPAM.lowestFreeIPv6(in: top, gateway: v6("fdff:ffff:ffff:ffff:ffff:ffff:ffff:fffd"),
                                    leased: [v6("fdff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")]) == v6("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
    }

    @Test("an address asked for: inside, not the anycast address, not the gateway")
    func requested() throws {
        let subnet = cidr("fd00:1::/64")
        try IPAM.checkRequestedIPv6(v6("fd00:1::42"), subnet: subnet, gateway: v6("fd00:1::1"), network: "web")
        let outside = #expect(throws: BerthError.self) { try IPAM.checkRequestedIPv6(v6("fd00:2::42"), subnet: subnet, gateway: v6("fd00:1::1"), network: "web") }
        #expect(outside?.message == "IPv6 address fd00:2::42 is not inside subnet fd00:1::/64 of network \"web\"")
        #expect(outside?.parameter == "ipv6Address")
        let anycast = #expect(throws: BerthError.self) { try IPAM.checkRequestedIPv6(v6("fd00:1::"), subnet: subnet, gateway: v6("fd00:1::1"), network: "web") }
        #expect(anycast?.message == "IPv6 address fd00:1:: is the subnet-router anycast address of fd00:1::/64")
        let gateway = #expect(throws: BerthError.self) { try IPAM.checkRequestedIPv6(v6("fd00:1::1"), subnet: subnet, gateway: v6("fd00:1::1"), network: "web") }
        #expect(gateway?.code == .conflict)
        #expect(gateway?.message == "IPv6 address fd00:1::1 is the gateway of network \"web\" (subnet fd00:1::/64)")
    }
}

@Suite("SubnetPool IPv6")
struct SubnetPoolIPv6Tests {
    private let prefix = UniqueLocalPrefix(globalID: 0x12_3456_789A)!
    private func taken(_ cidr: String, _ label: String) -> TakenSubnet { TakenSubnet(CIDR(cidr)!, label: label) }

    @Test("a network's /64 comes from its name: the same name, the same subnet; another name, another")
    func fromName() throws {
        let web = try SubnetPool.pickIPv6(forNetwork: "web", in: prefix, avoiding: [])
        #expect(web == prefix.subnet(SubnetPool.subnetID(forNetwork: "web")))
        #expect(try SubnetPool.pickIPv6(forNetwork: "web", in: prefix, avoiding: []) == web)
        #expect(try SubnetPool.pickIPv6(forNetwork: "db", in: prefix, avoiding: []) != web)
        #expect(prefix.prefix.contains(web) && web.prefixLength == 64)
        // FNV-1a, folded to 16 bits: a fixed function of the name, across releases.
        #expect(SubnetPool.subnetID(forNetwork: "web") == 0xB348)
        #expect(SubnetPool.subnetID(forNetwork: "berth") == 0x3ED4)
    }

    @Test("a taken /64 moves the pick to the next subnet ID; default routes, IPv4 and other prefixes do not count")
    func skipsTaken() throws {
        let id = SubnetPool.subnetID(forNetwork: "web")
        let first = prefix.subnet(id), second = prefix.subnet(id &+ 1)
        let pick = try SubnetPool.pickIPv6(forNetwork: "web", in: prefix, avoiding: [
            taken("::/0", "default route via fe80::1"), taken("10.0.0.0/8", "route 10.0.0.0/8"), taken("fd99::/16", "route fd99::/16"),
            TakenSubnet(first, label: "network \"old\""),
        ])
        #expect(pick == second)
        // A /60 covering sixteen of them.
        let covering = try CIDR(address: first.address, prefixLength: 60).network
        let afterBlock = try SubnetPool.pickIPv6(forNetwork: "web", in: prefix, avoiding: [TakenSubnet(covering, label: "route")])
        #expect(!covering.overlaps(afterBlock) && prefix.prefix.contains(afterBlock))
    }

    @Test("the whole /48 taken: a clear error")
    func exhausted() {
        let error = #expect(throws: BerthError.self) {
            try SubnetPool.pickIPv6(forNetwork: "web", in: prefix, avoiding: [taken("fd12:3456:7800::/40", "route fd12:3456:7800::/40 dev vpn0")])
        }
        #expect(error?.code == .conflict)
        #expect(error?.message == "no free IPv6 subnet left in fd12:3456:789a::/48: every /64 overlaps a route, an address or another network")
    }

    @Test("a user's IPv6 subnet that overlaps a route or another network is refused, naming it")
    func checkNamesClash() throws {
        let list = [taken("2001:db8::/32", "route 2001:db8::/32 dev eth0"), taken("fd00:1::/64", "network \"api\""), taken("10.0.0.0/8", "route")]
        try SubnetPool.check(CIDR("fd00:2::/64")!, against: list)
        let error = #expect(throws: BerthError.self) { try SubnetPool.check(CIDR("2001:db8:5::/64")!, against: list) }
        #expect(error?.message == "subnet 2001:db8:5::/64 overlaps 2001:db8::/32 (route 2001:db8::/32 dev eth0)")
        let other = #expect(throws: BerthError.self) { try SubnetPool.check(CIDR("fd00::/16")!, against: list) }
        #expect(other?.message == "subnet fd00::/16 overlaps fd00:1::/64 (network \"api\")")
    }
}
