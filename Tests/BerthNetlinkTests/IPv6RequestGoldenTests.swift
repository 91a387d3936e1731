import BerthCore
import BerthNamespace
@testable import BerthNetlink
import BerthTestSupport
import Testing

/// The bytes of the IPv6 verbs Berth's endpoints need, through a recorder (docs/ipv6.md
/// says why each is shaped so).
@Suite("rtnetlink IPv6 request goldens")
struct IPv6RequestGoldenTests {
    let transport = RecordingTransport()
    var netlink: RouteNetlink { RouteNetlink(transport: transport) }

    @Test("addrgenmode none: IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE 1 } } on an existing link")
    func addressGenerationMode() throws {
        try netlink.setAddressGenerationMode(.index(2), .none)
        expectGolden(transport.annotated, """
        nlmsghdr len=48 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 30 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=0 change=0 | 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
          IFLA_AF_SPEC NESTED | 10 00 1a 80
            AF_INET6 NESTED | 0c 00 0a 80
              IFLA_INET6_ADDR_GEN_MODE 1 | 05 00 08 00 01 00 00 00
        """)
        #expect(transport.requests.first?.entries.first?.operation == "set addrgenmode none on #2")
    }

    @Test("an IPv4-only interface: addrgenmode none as its own message, before the one that sets the link up")
    func ipv4OnlyBatch() throws {
        try netlink.apply { changes throws(BerthError) in
            try changes.setAddressGenerationMode(.index(2), .none)
            try changes.setUp(.index(1))
            try changes.setUp(.index(2))
            try changes.addAddress(CIDR(parsing: "10.88.0.2/24"), to: .index(2))
            try changes.addRoute(to: nil, via: IPAddress(parsing: "10.88.0.1"), device: .index(2), appendIfExists: true)
        }
        expectGolden(transport.annotated, """
        nlmsghdr len=48 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 30 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=0 change=0 | 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
          IFLA_AF_SPEC NESTED | 10 00 1a 80
            AF_INET6 NESTED | 0c 00 0a 80
              IFLA_INET6_ADDR_GEN_MODE 1 | 05 00 08 00 01 00 00 00
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=2 | 20 00 00 00 10 00 05 00 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=1 flags=UP change=UP | 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=3 | 20 00 00 00 10 00 05 00 03 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=UP change=UP | 00 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=4 | 30 00 00 00 14 00 05 06 04 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=24 flags=0 scope=0 index=2 | 02 18 00 00 02 00 00 00
          IFA_LOCAL 10.88.0.2 | 08 00 02 00 0a 58 00 02
          IFA_ADDRESS 10.88.0.2 | 08 00 01 00 0a 58 00 02
          IFA_BROADCAST 10.88.0.255 | 08 00 04 00 0a 58 00 ff
        nlmsghdr len=44 type=RTM_NEWROUTE flags=REQUEST|ACK|CREATE|APPEND seq=5 | 2c 00 00 00 18 00 05 0c 05 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 02 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY 10.88.0.1 | 08 00 05 00 0a 58 00 01
          RTA_OIF 2 | 08 00 04 00 02 00 00 00
        """)
    }

    @Test("the dual-stack batch: both addresses (the IPv6 one without DAD), both default routes, the IPv6 one kept if one exists")
    func dualStackBatch() throws {
        try netlink.apply { changes throws(BerthError) in
            try changes.setUp(.index(1))
            try changes.setUp(.index(2))
            try changes.addAddress(CIDR(parsing: "10.88.0.2/24"), to: .index(2))
            try changes.addAddress(CIDR(parsing: "fd12:3456:789a:1::2/64"), to: .index(2), flags: .noDAD)
            try changes.addRoute(to: nil, via: IPAddress(parsing: "10.88.0.1"), device: .index(2), appendIfExists: true)
            try changes.addRoute(to: nil, via: IPAddress(parsing: "fd12:3456:789a:1::1"), device: .index(2), keepIfExists: true)
        }
        expectGolden(transport.annotated, """
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=1 flags=UP change=UP | 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=2 | 20 00 00 00 10 00 05 00 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=UP change=UP | 00 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=3 | 30 00 00 00 14 00 05 06 03 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=24 flags=0 scope=0 index=2 | 02 18 00 00 02 00 00 00
          IFA_LOCAL 10.88.0.2 | 08 00 02 00 0a 58 00 02
          IFA_ADDRESS 10.88.0.2 | 08 00 01 00 0a 58 00 02
          IFA_BROADCAST 10.88.0.255 | 08 00 04 00 0a 58 00 ff
        nlmsghdr len=44 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=4 | 2c 00 00 00 14 00 05 06 04 00 00 00 00 00 00 00
        ifaddrmsg family=10 prefixlen=64 flags=2 scope=0 index=2 | 0a 40 02 00 02 00 00 00
          IFA_ADDRESS fd12:3456:789a:1:0:0:0:2 | 14 00 01 00 fd 12 34 56 78 9a 00 01 00 00 00 00 00 00 00 02
        nlmsghdr len=44 type=RTM_NEWROUTE flags=REQUEST|ACK|CREATE|APPEND seq=5 | 2c 00 00 00 18 00 05 0c 05 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 02 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY 10.88.0.1 | 08 00 05 00 0a 58 00 01
          RTA_OIF 2 | 08 00 04 00 02 00 00 00
        nlmsghdr len=56 type=RTM_NEWROUTE flags=REQUEST|ACK|EXCL|CREATE seq=6 | 38 00 00 00 18 00 05 06 06 00 00 00 00 00 00 00
        rtmsg family=10 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 0a 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY fd12:3456:789a:1:0:0:0:1 | 14 00 05 00 fd 12 34 56 78 9a 00 01 00 00 00 00 00 00 00 01
          RTA_OIF 2 | 08 00 04 00 02 00 00 00
        """)
        let request = try #require(transport.requests.first)
        #expect(request.entries.map(\.tolerated) == [[], [], [], [], [], [17]])
        #expect(request.entries.last?.operation == "add route default (IPv6) via fd12:3456:789a:1::1 dev #2 unless one exists")
        #expect(request.tolerates(17, sequence: 6) && !request.tolerates(17, sequence: 5) && !request.tolerates(22, sequence: 6))
    }

    @Test("a route cannot both append to and keep an existing one: refused before anything is sent")
    func appendAndKeepRefused() throws {
        let error = #expect(throws: BerthError.self) {
            try netlink.addRouteForTest(keep: true, append: true)
        }
        #expect(error?.code == .invalidArgument)
        #expect(transport.requests.isEmpty)
    }
}

private extension RouteNetlink {
    func addRouteForTest(keep: Bool, append: Bool) throws(BerthError) {
        try apply { changes throws(BerthError) in
            try changes.addRoute(to: nil, via: IPAddress(parsing: "fd00::1"), appendIfExists: append, keepIfExists: keep)
        }
    }
}
