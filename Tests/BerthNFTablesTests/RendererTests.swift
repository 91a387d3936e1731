import BerthCore
@testable import BerthNFTables
import Testing

@Suite("nft text rendering")
struct RendererTests {
    private func render(_ statements: [Statement], family: Family = .ip, comment: String? = nil) -> String {
        Rule(family: family, table: "t", chain: "c", statements, comment: comment).rendered
    }

    @Test("every statement renders as nft 1.0.6 prints it", arguments: [
        ([Statement.l4proto(6)], "meta l4proto tcp"),
        ([.l4proto(17), .thDport(53)], "udp dport 53"),
        ([.l4proto(132), .thDport(80)], "sctp dport 80"),
        ([.l4proto(1), .thDport(80)], "meta l4proto icmp th dport 80"),
        ([.thDport(80)], "th dport 80"),
        ([.saddr(CIDR("10.0.0.0/8")!)], "ip saddr 10.0.0.0/8"),
        ([.daddr(CIDR("10.0.0.7/32")!)], "ip daddr 10.0.0.7"),
        ([.saddr(CIDR("10.1.3.9/23")!)], "ip saddr 10.1.2.0/23"),
        ([.iifname("eth0")], "iifname \"eth0\""),
        ([.oifname("br0", negated: true)], "oifname != \"br0\""),
        ([.fibDaddrTypeLocal], "fib daddr type local"),
        ([.ctState([.established, .related])], "ct state established,related"),
        ([.ctState(.new)], "ct state new"),
        ([.ctStatusDnat], "ct status dnat"),
        ([.counter()], "counter packets 0 bytes 0"),
        ([.l4proto(6), .dnat(to: IPAddress("172.17.0.2")!, port: 80)], "meta l4proto tcp dnat to 172.17.0.2:80"),
        ([.dnat(to: IPAddress("172.17.0.2")!)], "dnat to 172.17.0.2"),
        ([.dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: "m")], "dnat ip to ip daddr . meta l4proto . th dport map @m"),
        ([.dnatMap(.ip, key: [.l4proto, .thDport], map: "m2")], "dnat ip to meta l4proto . th dport map @m2"),
        ([.masquerade], "masquerade"),
        ([.jump("x")], "jump x"),
        ([.goto("x")], "goto x"),
        ([.accept], "accept"),
        ([.drop], "drop"),
        ([.return], "return"),
    ])
    func statement(_ statements: [Statement], _ expected: String) {
        #expect(render(statements) == expected)
    }

    @Test("ip6 and inet forms")
    func ip6() {
        #expect(render([.daddr(CIDR("::1/128")!), .l4proto(6), .thDport(80), .dnat(to: IPAddress("fd00::2")!, port: 8080)], family: .ip6)
                == "ip6 daddr ::1 tcp dport 80 dnat to [fd00::2]:8080")
        #expect(render([.saddr(CIDR("fd00::/64")!), .accept], family: .ip6) == "ip6 saddr fd00::/64 accept")
        #expect(render([.daddr(CIDR("1.1.1.1/32")!), .l4proto(6), .thDport(80), .dnat(to: IPAddress("2.2.2.2")!, port: 80)], family: .inet)
                == "ip daddr 1.1.1.1 tcp dport 80 dnat ip to 2.2.2.2:80")
        #expect(render([.dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: "m6")], family: .inet)
                == "dnat ip6 to ip6 daddr . meta l4proto . th dport map @m6")
        #expect(render([.accept], comment: "why") == "accept comment \"why\"")
    }

    @Test("chain priorities print by name only where nft allows the name for the hook")
    func priorities() {
        #expect(Priority.dstnat.rendered(hook: .prerouting) == "dstnat")
        #expect(Priority.dstnat.rendered(hook: .output) == "-100")
        #expect((Priority.dstnat + 3).rendered(hook: .prerouting) == "dstnat + 3")
        #expect(Priority.srcnat.rendered(hook: .postrouting) == "srcnat")
        #expect(Priority.filter.rendered(hook: .input) == "filter")
        #expect((Priority.filter - 5).rendered(hook: .forward) == "filter - 5")
        #expect(Priority.raw.rendered(hook: .prerouting) == "raw")
        #expect(Priority.mangle.rendered(hook: .output) == "mangle")
        #expect(Priority(-200).rendered(hook: .prerouting) == "-200")
    }

    @Test("elements sort and wrap as nft prints them")
    func elements() {
        let numbers = [5, 3, 9, 1, 100, 2, 7].map { Element([.port(UInt16($0))]) }
        #expect(Renderer.elements(numbers, keyType: [.inetService]) == "{ 1, 2, 3, 5, 7,\n\t\t\t     9, 100 }")
        let addresses = ["1.1.1.3", "1.1.1.1", "1.1.1.2"].map { Element([.ipv4(IPv4Address($0)!)], [.ipv4(IPv4Address("2.2.2.2")!)]) }
        #expect(Renderer.elements(addresses, keyType: [.ipv4Address])
                == "{ 1.1.1.1 : 2.2.2.2, 1.1.1.2 : 2.2.2.2,\n\t\t\t     1.1.1.3 : 2.2.2.2 }")
        #expect(Renderer.elements([Element([.ifname("eth0")])], keyType: [.ifname]) == "{ \"eth0\" }")
    }

    @Test("a whole table renders like nft list table")
    func table() throws {
        let fake = FakeBackend()
        try fake.apply(Fixture.publishTransaction("berth-test"))
        #expect(try fake.dump(.ip, "berth-test") == Fixture.publishText("berth-test"))
    }
}
