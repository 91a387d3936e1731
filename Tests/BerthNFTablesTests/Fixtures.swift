import BerthCore
@testable import BerthNFTables

/// A port-publishing table like the one Berth builds, shared by unit and kernel tests.
enum Fixture {
    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func cidr(_ text: String) -> CIDR { CIDR(text)! }

    static func publishTable(_ name: String) -> (Table, NFTSet, NFTSet, [Chain], [Rule]) {
        let table = Table(.ip, name, comment: "hello")
        let publish = table.map("publish", type: [.ipv4Address, .inetProto, .inetService], data: [.ipv4Address, .inetService], comment: "pub")
        let wild = table.map("wild", type: [.inetProto, .inetService], data: [.ipv4Address, .inetService])
        let prerouting = table.chain("prerouting", BaseChain(type: .nat, hook: .prerouting, priority: .dstnat))
        let postrouting = table.chain("postrouting", BaseChain(type: .nat, hook: .postrouting, priority: .srcnat))
        let raw = table.chain("raw", BaseChain(type: .filter, hook: .prerouting, priority: .raw))
        let forwarding = table.chain("forwarding", BaseChain(type: .filter, hook: .forward, priority: .filter - 5, policy: .drop))
        let other = table.chain("other", comment: "jumped to")
        let rules = [
            table.rule(in: "prerouting", [.fibDaddrTypeLocal, .counter(), .dnatMap(.ip, key: [.l4proto, .thDport], map: "wild")]),
            table.rule(in: "prerouting", [.dnatMap(.ip, key: [.ipDaddr, .l4proto, .thDport], map: "publish")], comment: "x"),
            table.rule(in: "prerouting", [.l4proto(6), .thDport(80), .dnat(to: .v4(ip("1.2.3.4")), port: 80)]),
            table.rule(in: "prerouting", [.daddr(cidr("1.1.1.1/32")), .dnat(to: .v4(ip("1.2.3.4")))]),
            table.rule(in: "postrouting", [.ctStatusDnat, .saddr(cidr("172.17.0.0/16")), .masquerade]),
            table.rule(in: "postrouting", [.oifname("br0", negated: true), .masquerade]),
            table.rule(in: "raw", [.iifname("lo", negated: true), .daddr(cidr("127.0.0.0/8")), .drop]),
            table.rule(in: "forwarding", [.ctState([.established, .related]), .accept]),
            table.rule(in: "forwarding", [.saddr(cidr("10.1.2.0/23")), .jump("other")]),
            table.rule(in: "forwarding", [.iifname("eth0"), .goto("other")]),
            table.rule(in: "forwarding", [.l4proto(17), .accept]),
            table.rule(in: "forwarding", [.thDport(53), .return]),
            table.rule(in: "other", [.counter()], comment: "cnt"),
        ]
        return (table, publish, wild, [prerouting, postrouting, raw, forwarding, other], rules)
    }

    static let publishElements = [
        Element([.ipv4(ip("10.0.0.1")), .tcp, .port(8080)], [.ipv4(ip("172.17.0.2")), .port(80)], comment: "c1"),
        Element([.ipv4(ip("10.0.0.1")), .udp, .port(53)], [.ipv4(ip("172.17.0.3")), .port(53)]),
        Element([.ipv4(ip("9.0.0.1")), .tcp, .port(1)], [.ipv4(ip("172.17.0.3")), .port(1)]),
    ]

    static func publishTransaction(_ name: String) -> Transaction {
        let (table, publish, wild, chains, rules) = publishTable(name)
        var tx = Transaction()
        tx.add(.table(table))
        tx.add(.set(publish))
        tx.add(.set(wild))
        for chain in chains { tx.add(.chain(chain)) }
        for rule in rules { tx.add(.rule(rule)) }
        tx.add(publishElements, to: publish)
        return tx
    }

    /// What nft 1.0.6 prints for `publishTransaction` (checked against `nft list table`).
    static func publishText(_ name: String) -> String {
        """
        table ip \(name) {
        \tcomment "hello"
        \tmap publish {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t\tcomment "pub"
        \t\telements = { 9.0.0.1 . tcp . 1 : 172.17.0.3 . 1,
        \t\t\t     10.0.0.1 . udp . 53 : 172.17.0.3 . 53,
        \t\t\t     10.0.0.1 . tcp . 8080 comment "c1" : 172.17.0.2 . 80 }
        \t}

        \tmap wild {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t}

        \tchain prerouting {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tfib daddr type local counter packets 0 bytes 0 dnat ip to meta l4proto . th dport map @wild
        \t\tdnat ip to ip daddr . meta l4proto . th dport map @publish comment "x"
        \t\ttcp dport 80 dnat to 1.2.3.4:80
        \t\tip daddr 1.1.1.1 dnat to 1.2.3.4
        \t}

        \tchain postrouting {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\tct status dnat ip saddr 172.17.0.0/16 masquerade
        \t\toifname != "br0" masquerade
        \t}

        \tchain raw {
        \t\ttype filter hook prerouting priority raw; policy accept;
        \t\tiifname != "lo" ip daddr 127.0.0.0/8 drop
        \t}

        \tchain forwarding {
        \t\ttype filter hook forward priority filter - 5; policy drop;
        \t\tct state established,related accept
        \t\tip saddr 10.1.2.0/23 jump other
        \t\tiifname "eth0" goto other
        \t\tmeta l4proto udp accept
        \t\tth dport 53 return
        \t}

        \tchain other {
        \t\tcomment "jumped to"
        \t\tcounter packets 0 bytes 0 comment "cnt"
        \t}
        }

        """
    }
}
