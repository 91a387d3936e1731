import BerthCore
import BerthNetwork
import Testing

@Suite("SubnetPool")
struct SubnetPoolTests {
    private func taken(_ cidr: String, _ label: String) -> TakenSubnet { TakenSubnet(CIDR(cidr)!, label: label) }

    @Test("the default pools are Docker's: 172.17-31/16 then 192.168.x.0/20, in order")
    func defaultPools() {
        let pools = SubnetPool.defaultPools.map(\.description)
        #expect(pools.count == 15 + 16)
        #expect(pools.prefix(2) == ["172.17.0.0/16", "172.18.0.0/16"])
        #expect(pools[14] == "172.31.0.0/16")
        #expect(pools[15] == "192.168.0.0/20")
        #expect(pools[16] == "192.168.16.0/20")
        #expect(pools.last == "192.168.240.0/20")
    }

    @Test("picks the first pool that overlaps nothing taken; a default route is not a clash")
    func pickSkipsOverlaps() throws {
        #expect(try SubnetPool.pick(avoiding: []).description == "172.17.0.0/16")
        let pick = try SubnetPool.pick(avoiding: [
            taken("0.0.0.0/0", "default route via 10.0.0.1"),
            taken("172.17.0.0/16", "network \"bridge\""),
            taken("172.18.5.1/24", "address of eth0"),     // inside 172.18/16
            taken("172.16.0.0/12", "route dev vpn0") ,      // covers all of 172.16-31
        ].dropLast())
        #expect(pick.description == "172.19.0.0/16")
        let afterVPN = try SubnetPool.pick(avoiding: [taken("172.16.0.0/12", "route dev vpn0"), taken("192.168.1.7/32", "address of wlan0")])
        #expect(afterVPN.description == "192.168.16.0/20")
    }

    @Test("every pool taken: a clear error")
    func exhausted() {
        let error = #expect(throws: BerthError.self) {
            try SubnetPool.pick(avoiding: [taken("172.16.0.0/12", "route a"), taken("192.168.0.0/16", "route b")])
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("no free subnet left in the default pools (172.17.0.0/16 to 192.168.240.0/20)") == true)
    }

    @Test("a user's subnet that overlaps something taken is refused, naming it by its label")
    func checkNamesClash() throws {
        let takenList = [taken("10.0.0.0/8", "route 10.0.0.0/8 dev eth0"), taken("172.20.0.0/16", "network \"api\"")]
        try SubnetPool.check(CIDR("192.168.50.0/24")!, against: takenList)
        let inner = #expect(throws: BerthError.self) { try SubnetPool.check(CIDR("10.88.0.0/16")!, against: takenList) }
        #expect(inner?.message == "subnet 10.88.0.0/16 overlaps 10.0.0.0/8 (route 10.0.0.0/8 dev eth0)")
        let outer = #expect(throws: BerthError.self) { try SubnetPool.check(CIDR("172.0.0.0/8")!, against: takenList) }
        #expect(outer?.message == "subnet 172.0.0.0/8 overlaps 172.20.0.0/16 (network \"api\")")
        // IPv6 entries never clash with an IPv4 subnet.
        try SubnetPool.check(CIDR("172.21.0.0/16")!, against: [taken("::/0", "v6 default"), taken("fd00::/8", "ula")])
    }
}
