import BerthCore
@testable import BerthNFTables
import Testing

/// Goldens of the libnftnl expressions, in `nft --debug=netlink` form (as nftnl_rule_snprintf
/// prints them); each was compared with what nft 1.0.6 generates for the same rule.
@Suite("libnftnl expressions")
struct CompilerTests {
    private func debug(_ statements: [Statement], family: Family = .ip) throws -> [String] {
        try NFTNL.debugText(Rule(family: family, table: "t", chain: "c", statements)).split(separator: "\n").map(String.init)
    }

    @Test("concatenated dnat map, as nft generates it")
    func dnatMap() throws {
        #expect(try debug([.dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: "publish")]) == [
            "[ payload load 4b @ network header + 16 => reg 1 ]",
            "[ meta load l4proto => reg 9 ]",
            "[ payload load 2b @ transport header + 2 => reg 10 ]",
            "[ lookup reg 1 set publish dreg 1 0x0 ]",
            "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 9 proto_max reg 9 flags 0x3 ]",
        ])
        #expect(try debug([.fibDaddrTypeLocal, .counter(), .dnatMap(.ip, key: [.l4proto, .thDport], map: "wild")]) == [
            "[ fib daddr type => reg 1 ]",
            "[ cmp eq reg 1 0x00000002 ]",
            "[ counter pkts 0 bytes 0 ]",
            "[ meta load l4proto => reg 1 ]",
            "[ payload load 2b @ transport header + 2 => reg 9 ]",
            "[ lookup reg 1 set wild dreg 1 0x0 ]",
            "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 9 proto_max reg 9 flags 0x3 ]",
        ])
        #expect(try debug([.dnatMap(.ip6, key: [.ip6Daddr, .l4proto, .thDport], map: "m6")], family: .inet) == [
            "[ meta load nfproto => reg 1 ]",
            "[ cmp eq reg 1 0x0000000a ]",
            "[ payload load 16b @ network header + 24 => reg 1 ]",
            "[ meta load l4proto => reg 2 ]",
            "[ payload load 2b @ transport header + 2 => reg 13 ]",
            "[ lookup reg 1 set m6 dreg 1 0x0 ]",
            "[ nat dnat ip6 addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 flags 0x3 ]",
        ])
    }

    @Test("set lookup of a concatenation of two addresses, as nft generates it (publication_hairpin), and read back")
    func setLookup() throws {
        let statements: [Statement] = [.ctStatusDnat, .lookup(key: [.ipSaddr, .ipDaddr], set: "hp"), .masquerade]
        // nft 1.0.6 prints the lookup without flags, which it leaves unset; Berth sets them to 0.
        #expect(try debug(statements) == [
            "[ ct load status => reg 1 ]",
            "[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]",
            "[ cmp neq reg 1 0x00000000 ]",
            "[ payload load 4b @ network header + 12 => reg 1 ]",
            "[ payload load 4b @ network header + 16 => reg 9 ]",
            "[ lookup reg 1 set hp 0x0 ]",
            "[ masq ]",
        ])
        #expect(Decompiler.statements(Compiler.compile(Rule(family: .ip, table: "t", chain: "c", statements)), family: .ip) == statements)
        let six: [Statement] = [.ctStatusDnat, .lookup(key: [.ip6Saddr, .ip6Daddr], set: "hp"), .masquerade]
        #expect(try debug(six, family: .ip6).dropFirst(3).prefix(3) == [
            "[ payload load 16b @ network header + 8 => reg 1 ]",
            "[ payload load 16b @ network header + 24 => reg 2 ]",
            "[ lookup reg 1 set hp 0x0 ]",
        ])
        #expect(Decompiler.statements(Compiler.compile(Rule(family: .ip6, table: "t", chain: "c", six)), family: .ip6) == six)
        #expect(Renderer.rule(Rule(family: .ip6, table: "t", chain: "c", six, comment: "x"))
            == "ct status dnat ip6 saddr . ip6 daddr @hp masquerade comment \"x\"")
    }

    @Test("matches, nat and verdicts")
    func statements() throws {
        #expect(try debug([.l4proto(6), .thDport(80), .dnat(to: IPAddress("1.2.3.4")!, port: 80)]) == [
            "[ meta load l4proto => reg 1 ]",
            "[ cmp eq reg 1 0x00000006 ]",
            "[ payload load 2b @ transport header + 2 => reg 1 ]",
            "[ cmp eq reg 1 0x00005000 ]",
            "[ immediate reg 1 0x04030201 ]",
            "[ immediate reg 2 0x00005000 ]",
            "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 flags 0x3 ]",
        ])
        #expect(try debug([.daddr(CIDR("1.1.1.1/32")!), .dnat(to: IPAddress("1.2.3.4")!)]) == [
            "[ payload load 4b @ network header + 16 => reg 1 ]",
            "[ cmp eq reg 1 0x01010101 ]",
            "[ immediate reg 1 0x04030201 ]",
            "[ nat dnat ip addr_min reg 1 addr_max reg 1 flags 0x1 ]",
        ])
        #expect(try debug([.ctStatusDnat, .saddr(CIDR("172.17.0.0/16")!), .masquerade]) == [
            "[ ct load status => reg 1 ]",
            "[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]",
            "[ cmp neq reg 1 0x00000000 ]",
            "[ payload load 2b @ network header + 12 => reg 1 ]",
            "[ cmp eq reg 1 0x000011ac ]",
            "[ masq ]",
        ])
        #expect(try debug([.oifname("br0", negated: true), .iifname("lo")]) == [
            "[ meta load oifname => reg 1 ]",
            "[ cmp neq reg 1 0x00307262 0x00000000 0x00000000 0x00000000 ]",
            "[ meta load iifname => reg 1 ]",
            "[ cmp eq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]",
        ])
        #expect(try debug([.ctState([.established, .related]), .accept]) == [
            "[ ct load state => reg 1 ]",
            "[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]",
            "[ cmp neq reg 1 0x00000000 ]",
            "[ immediate reg 0 accept ]",
        ])
        #expect(try debug([.saddr(CIDR("10.1.2.0/23")!), .jump("other")], family: .inet) == [
            "[ meta load nfproto => reg 1 ]",
            "[ cmp eq reg 1 0x00000002 ]",
            "[ payload load 4b @ network header + 12 => reg 1 ]",
            "[ bitwise reg 1 = ( reg 1 & 0x00feffff ) ^ 0x00000000 ]",
            "[ cmp eq reg 1 0x0002010a ]",
            "[ immediate reg 0 jump -> other ]",
        ])
        #expect(try debug([.goto("x"), .return, .drop]) == [
            "[ immediate reg 0 goto -> x ]", "[ immediate reg 0 return ]", "[ immediate reg 0 drop ]",
        ])
        #expect(try debug([.daddr(CIDR("fd00::1/128")!), .dnat(to: IPAddress("fd00::2")!)], family: .ip6) == [
            "[ payload load 16b @ network header + 24 => reg 1 ]",
            "[ cmp eq reg 1 0x000000fd 0x00000000 0x00000000 0x01000000 ]",
            "[ immediate reg 1 0x000000fd 0x00000000 0x00000000 0x02000000 ]",
            "[ nat dnat ip6 addr_min reg 1 addr_max reg 1 flags 0x1 ]",
        ])
    }

    @Test("every fixture rule decompiles back to its statements")
    func roundTrip() {
        let (_, _, _, _, rules) = Fixture.publishTable("t")
        for rule in rules {
            #expect(Decompiler.statements(Compiler.compile(rule), family: rule.family) == rule.statements)
        }
        let inet = Rule(family: .inet, table: "t", chain: "c", [.daddr(CIDR("fd00::/64")!), .saddr(CIDR("10.0.0.0/8")!), .accept])
        #expect(Decompiler.statements(Compiler.compile(inet), family: .inet) == inet.statements)
    }
}
