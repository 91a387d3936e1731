import BerthCore
import BerthNamespace
@testable import BerthNetlink
import BerthTestSupport
import Testing

/// The exact bytes each verb sends, through a recorder: no kernel needed.
@Suite("rtnetlink request goldens")
struct RequestGoldenTests {
    let transport = RecordingTransport()
    var netlink: RouteNetlink { RouteNetlink(transport: transport) }

    private func name(_ text: String) throws -> InterfaceName { try InterfaceName(text) }

    @Test("create bridge with mtu, mac and up")
    func createBridge() throws {
        let link = try netlink.createBridge(named: name("br0"), mtu: 1400, mac: MACAddress(parsing: "02:42:0a:58:00:01"), up: true)
        #expect(link.name == "br0")
        expectGolden(transport.annotated, """
        nlmsghdr len=76 type=RTM_NEWLINK flags=REQUEST|ACK|ECHO|EXCL|CREATE seq=1 | 4c 00 00 00 10 00 0d 06 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=UP change=UP | 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00
          IFLA_IFNAME "br0" | 08 00 03 00 62 72 30 00
          IFLA_MTU 1400 | 08 00 04 00 78 05 00 00
          IFLA_ADDRESS 02:42:0a:58:00:01 | 0a 00 01 00 02 42 0a 58 00 01 00 00
          IFLA_LINKINFO NESTED | 10 00 12 80
            IFLA_INFO_KIND "bridge" | 0b 00 01 00 62 72 69 64 67 65 00 00
        """)
    }

    @Test("create veth with its peer born in another namespace, enslaved and up in one message")
    func createVeth() throws {
        let peerNamespace = try NetworkNamespace.current()
        let link = try netlink.createVeth(named: name("vb1"), peer: name("eth0"), peerNamespace: peerNamespace,
                                          master: .index(7), up: true)
        #expect(link.name == "vb1")
        expectGolden(transport.annotated, """
        nlmsghdr len=140 type=RTM_NEWLINK flags=REQUEST|ACK|ECHO|EXCL|CREATE seq=1 | 8c 00 00 00 10 00 0d 06 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=UP change=UP | 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00
          IFLA_IFNAME "vb1" | 08 00 03 00 76 62 31 00
          IFLA_MASTER 7 | 08 00 0a 00 07 00 00 00
          IFLA_NUM_TX_QUEUES 1 | 08 00 1f 00 01 00 00 00
          IFLA_NUM_RX_QUEUES 1 | 08 00 20 00 01 00 00 00
          IFLA_LINKINFO NESTED | 4c 00 12 80
            IFLA_INFO_KIND "veth" | 09 00 01 00 76 65 74 68 00 00 00 00
            IFLA_INFO_DATA NESTED | 3c 00 02 80
              VETH_INFO_PEER NESTED | 38 00 01 80
                ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                  IFLA_IFNAME "eth0" | 09 00 03 00 65 74 68 30 00 00 00 00
                  IFLA_NUM_TX_QUEUES 1 | 08 00 1f 00 01 00 00 00
                  IFLA_NUM_RX_QUEUES 1 | 08 00 20 00 01 00 00 00
                  IFLA_NET_NS_FD <fd> | 08 00 1c 00 xx xx xx xx
        """)
    }

    @Test("rename by index: the name goes in IFLA_IFNAME, the link in ifi_index")
    func rename() throws {
        try netlink.rename(.index(7), to: name("vd00000007"))
        expectGolden(transport.annotated, """
        nlmsghdr len=48 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 30 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=7 flags=0 change=0 | 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "vd00000007" | 0f 00 03 00 76 64 30 30 30 30 30 30 30 37 00 00
        """)
    }

    @Test("update by index: a new name, down and off its master in one message")
    func update() throws {
        try netlink.apply { changes throws(BerthError) in try changes.update(.index(7), renameTo: InterfaceName("vd00000007"), up: false, releaseMaster: true) }
        expectGolden(transport.annotated, """
        nlmsghdr len=56 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 38 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=7 flags=0 change=UP | 00 00 00 00 07 00 00 00 00 00 00 00 01 00 00 00
          IFLA_IFNAME "vd00000007" | 0f 00 03 00 76 64 30 30 30 30 30 30 30 37 00 00
          IFLA_MASTER 0 | 08 00 0a 00 00 00 00 00
        """)
    }

    @Test("set up by name")
    func setUp() throws {
        try netlink.setUp(.named("eth0"))
        expectGolden(transport.annotated, """
        nlmsghdr len=44 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 2c 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=UP change=UP | 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00
          IFLA_IFNAME "eth0" | 09 00 03 00 65 74 68 30 00 00 00 00
        """)
    }

    @Test("set master, then no master")
    func setMaster() throws {
        try netlink.setMaster(.named("vb1"), to: .index(5))
        try netlink.setMaster(.index(9), to: nil)
        expectGolden(transport.annotated, """
        nlmsghdr len=48 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 30 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "vb1" | 08 00 03 00 76 62 31 00
          IFLA_MASTER 5 | 08 00 0a 00 05 00 00 00
        nlmsghdr len=40 type=RTM_NEWLINK flags=REQUEST|ACK seq=2 | 28 00 00 00 10 00 05 00 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=9 flags=0 change=0 | 00 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00
          IFLA_MASTER 0 | 08 00 0a 00 00 00 00 00
        """)
    }

    @Test("add IPv4 address: local, address and broadcast")
    func addAddressV4() throws {
        try netlink.addAddress(CIDR(parsing: "10.88.0.2/16"), to: .index(3))
        expectGolden(transport.annotated, """
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=1 | 30 00 00 00 14 00 05 06 01 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=16 flags=0 scope=0 index=3 | 02 10 00 00 03 00 00 00
          IFA_LOCAL 10.88.0.2 | 08 00 02 00 0a 58 00 02
          IFA_ADDRESS 10.88.0.2 | 08 00 01 00 0a 58 00 02
          IFA_BROADCAST 10.88.255.255 | 08 00 04 00 0a 58 ff ff
        """)
    }

    @Test("add IPv6 address without DAD")
    func addAddressV6() throws {
        try netlink.addAddress(CIDR(parsing: "fd00::2/64"), to: .index(3), flags: .noDAD)
        expectGolden(transport.annotated, """
        nlmsghdr len=44 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=1 | 2c 00 00 00 14 00 05 06 01 00 00 00 00 00 00 00
        ifaddrmsg family=10 prefixlen=64 flags=2 scope=0 index=3 | 0a 40 02 00 03 00 00 00
          IFA_ADDRESS fd00:0:0:0:0:0:0:2 | 14 00 01 00 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
        """)
    }

    @Test("add default route IPv4 via gateway")
    func addDefaultRouteV4() throws {
        try netlink.addRoute(to: nil, via: IPAddress(parsing: "10.88.0.1"))
        expectGolden(transport.annotated, """
        nlmsghdr len=36 type=RTM_NEWROUTE flags=REQUEST|ACK|EXCL|CREATE seq=1 | 24 00 00 00 18 00 05 06 01 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 02 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY 10.88.0.1 | 08 00 05 00 0a 58 00 01
        """)
    }

    @Test("add default route IPv6 via gateway and device, with a metric")
    func addDefaultRouteV6() throws {
        try netlink.addRoute(to: nil, via: IPAddress(parsing: "fd00::1"), device: .index(3), metric: 100)
        expectGolden(transport.annotated, """
        nlmsghdr len=64 type=RTM_NEWROUTE flags=REQUEST|ACK|EXCL|CREATE seq=1 | 40 00 00 00 18 00 05 06 01 00 00 00 00 00 00 00
        rtmsg family=10 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 0a 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY fd00:0:0:0:0:0:0:1 | 14 00 05 00 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
          RTA_OIF 3 | 08 00 04 00 03 00 00 00
          RTA_PRIORITY 100 | 08 00 06 00 64 00 00 00
        """)
    }

    @Test("add prefix route via device in another table")
    func addPrefixRoute() throws {
        try netlink.addRoute(to: CIDR(parsing: "10.99.1.7/24"), device: .index(4), table: 1000)
        expectGolden(transport.annotated, """
        nlmsghdr len=52 type=RTM_NEWROUTE flags=REQUEST|ACK|EXCL|CREATE seq=1 | 34 00 00 00 18 00 05 06 01 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=24 src_len=0 tos=0 table=0 protocol=4 scope=253 type=1 flags=0 | 02 18 00 00 00 04 fd 01 00 00 00 00
          RTA_TABLE 1000 | 08 00 0f 00 e8 03 00 00
          RTA_DST 10.99.1.0 | 08 00 01 00 0a 63 01 00
          RTA_OIF 4 | 08 00 04 00 04 00 00 00
        """)
    }

    @Test("delete link by name")
    func deleteLink() throws {
        try netlink.deleteLink(.named("br0"))
        expectGolden(transport.annotated, """
        nlmsghdr len=40 type=RTM_DELLINK flags=REQUEST|ACK seq=1 | 28 00 00 00 11 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "br0" | 08 00 03 00 62 72 30 00
        """)
    }

    @Test("the attach batch: lo up, eth0 up, address, default route in one request")
    func attachBatch() throws {
        try netlink.apply { changes throws(BerthError) in
            try changes.setUp(.index(1))
            try changes.setUp(.index(2))
            try changes.addAddress(CIDR(parsing: "10.88.0.2/16"), to: .index(2))
            try changes.addRoute(to: nil, via: IPAddress(parsing: "10.88.0.1"))
        }
        #expect(transport.requests.count == 1)
        #expect(transport.requests.first?.expectedAcks == 4)
        expectGolden(transport.annotated, """
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=1 flags=UP change=UP | 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=2 | 20 00 00 00 10 00 05 00 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=UP change=UP | 00 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=3 | 30 00 00 00 14 00 05 06 03 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=16 flags=0 scope=0 index=2 | 02 10 00 00 02 00 00 00
          IFA_LOCAL 10.88.0.2 | 08 00 02 00 0a 58 00 02
          IFA_ADDRESS 10.88.0.2 | 08 00 01 00 0a 58 00 02
          IFA_BROADCAST 10.88.255.255 | 08 00 04 00 0a 58 ff ff
        nlmsghdr len=36 type=RTM_NEWROUTE flags=REQUEST|ACK|EXCL|CREATE seq=4 | 24 00 00 00 18 00 05 06 04 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 02 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY 10.88.0.1 | 08 00 05 00 0a 58 00 01
        """)
    }

    @Test("a name over 15 bytes is refused before anything is sent")
    func longNameRefused() throws {
        #expect(throws: BerthError.self) { try netlink.setUp(.named("abcdefghijklmnop")) }
        #expect(transport.requests.isEmpty)
    }

    @Test("a route without gateway or device, or mixing families, is refused before sending")
    func badRoutesRefused() throws {
        let error = #expect(throws: BerthError.self) { try netlink.addRoute(to: nil) }
        #expect(error?.code == .invalidArgument)
        #expect(throws: BerthError.self) {
            try netlink.addRoute(to: CIDR(parsing: "10.0.0.0/8"), via: IPAddress(parsing: "fd00::1"))
        }
        #expect(transport.requests.isEmpty)
    }
}
