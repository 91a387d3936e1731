import BerthCore
import BerthFakes
import BerthNetwork
import BerthTestSupport
import Testing

/// Goldens of what the policy sends: the exact rtnetlink bytes of a network create and an
/// attach (annotated, as `NetlinkAnnotator` renders them), and Berth's whole nftables
/// table as `nft list ruleset` prints it. The builders behind the bytes are checked against
/// the uapi headers by the rtnetlink request goldens, and the fake nftables against the
/// kernel by the backend agreement tests; these pin down what the policy asks for.
@Suite("policy goldens (fake kernel)")
struct PolicyGoldenTests {
    @Test("network create: a lookup, three dumps for the subnet check, the bridge with its MAC and its tag in one sendmsg, then address and up")
    func networkCreateBytes() throws {
        let host = try FakeHost()
        let mark = host.kernel.mark
        let network = try host.network()
        // The MAC is derived from the network id, which is random: the golden names it.
        let mac = try #require(network.bridgeMAC)
        let macBytes = mac.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
        expectGolden(host.kernel.annotatedRequests(since: mark), """
        # host
        nlmsghdr len=52 type=RTM_GETLINK flags=REQUEST|ACK seq=1 | 34 00 00 00 12 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "brweb" | 0a 00 03 00 62 72 77 65 62 00 00 00
          IFLA_EXT_MASK 8 | 08 00 1d 00 08 00 00 00
        # host
        nlmsghdr len=40 type=RTM_GETLINK flags=REQUEST|ROOT|MATCH seq=2 | 28 00 00 00 12 00 01 03 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_EXT_MASK 8 | 08 00 1d 00 08 00 00 00
        # host
        nlmsghdr len=28 type=RTM_GETROUTE flags=REQUEST|ROOT|MATCH seq=3 | 1c 00 00 00 1a 00 01 03 03 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=0 protocol=0 scope=0 type=0 flags=0 | 02 00 00 00 00 00 00 00 00 00 00 00
        # host
        nlmsghdr len=24 type=RTM_GETADDR flags=REQUEST|ROOT|MATCH seq=4 | 18 00 00 00 16 00 01 03 04 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=0 flags=0 scope=0 index=0 | 02 00 00 00 00 00 00 00
        # host
        nlmsghdr len=80 type=RTM_NEWLINK flags=REQUEST|ACK|ECHO|EXCL|CREATE seq=5 | 50 00 00 00 10 00 0d 06 05 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "brweb" | 0a 00 03 00 62 72 77 65 62 00 00 00
          IFLA_MTU 1500 | 08 00 04 00 dc 05 00 00
          IFLA_ADDRESS \(mac) | 0a 00 01 00 \(macBytes) 00 00
          IFLA_LINKINFO NESTED | 10 00 12 80
            IFLA_INFO_KIND "bridge" | 0b 00 01 00 62 72 69 64 67 65 00 00
        nlmsghdr len=76 type=RTM_NEWLINK flags=REQUEST|ACK seq=6 | 4c 00 00 00 10 00 05 00 06 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "brweb" | 0a 00 03 00 62 72 77 65 62 00 00 00
          IFLA_IFALIAS "berth-network web @f4ce0001" (no NUL) | 1f 00 14 00 62 65 72 74 68 2d 6e 65 74 77 6f 72 6b 20 77 65 62 20 40 66 34 63 65 30 30 30 31 00
        # host
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=7 | 30 00 00 00 14 00 05 06 07 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=24 flags=0 scope=0 index=2 | 02 18 00 00 02 00 00 00
          IFA_LOCAL 10.88.0.1 | 08 00 02 00 0a 58 00 01
          IFA_ADDRESS 10.88.0.1 | 08 00 01 00 0a 58 00 01
          IFA_BROADCAST 10.88.0.255 | 08 00 04 00 0a 58 00 ff
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=8 | 20 00 00 00 10 00 05 00 08 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=UP change=UP | 00 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00
        """)
    }

    @Test("attach: bridge lookup; veth with its peer born in the namespace, alias and hairpin in one sendmsg; lo, eth0, address and route inside")
    func attachBytes() throws {
        let host = try FakeHost()
        try host.network()
        try host.network("iso", subnet: "10.90.0.0/24", isInternal: true)
        host.kernel.addNamespace("ctr1")
        let mark = host.kernel.mark
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        expectGolden(host.kernel.annotatedRequests(since: mark), """
        # host
        nlmsghdr len=52 type=RTM_GETLINK flags=REQUEST|ACK seq=17 | 34 00 00 00 12 00 05 00 11 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "brweb" | 0a 00 03 00 62 72 77 65 62 00 00 00
          IFLA_EXT_MASK 8 | 08 00 1d 00 08 00 00 00
        # host
        nlmsghdr len=180 type=RTM_NEWLINK flags=REQUEST|ACK|ECHO|EXCL|CREATE seq=18 | b4 00 00 00 10 00 0d 06 12 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=UP change=UP | 00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00
          IFLA_IFNAME "vb2ffd49df38d19" | 14 00 03 00 76 62 32 66 66 64 34 39 64 66 33 38 64 31 39 00
          IFLA_MTU 1500 | 08 00 04 00 dc 05 00 00
          IFLA_MASTER 2 | 08 00 0a 00 02 00 00 00
          IFLA_NUM_TX_QUEUES 1 | 08 00 1f 00 01 00 00 00
          IFLA_NUM_RX_QUEUES 1 | 08 00 20 00 01 00 00 00
          IFLA_LINKINFO NESTED | 60 00 12 80
            IFLA_INFO_KIND "veth" | 09 00 01 00 76 65 74 68 00 00 00 00
            IFLA_INFO_DATA NESTED | 50 00 02 80
              VETH_INFO_PEER NESTED | 4c 00 01 80
                ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                  IFLA_IFNAME "eth0" | 09 00 03 00 65 74 68 30 00 00 00 00
                  IFLA_MTU 1500 | 08 00 04 00 dc 05 00 00
                  IFLA_ADDRESS 02:42:0a:58:00:02 | 0a 00 01 00 02 42 0a 58 00 02 00 00
                  IFLA_NUM_TX_QUEUES 1 | 08 00 1f 00 01 00 00 00
                  IFLA_NUM_RX_QUEUES 1 | 08 00 20 00 01 00 00 00
                  IFLA_NET_NS_FD <fd> | 08 00 1c 00 xx xx xx xx
        nlmsghdr len=100 type=RTM_NEWLINK flags=REQUEST|ACK seq=19 | 64 00 00 00 10 00 05 00 13 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "vb2ffd49df38d19" | 14 00 03 00 76 62 32 66 66 64 34 39 64 66 33 38 64 31 39 00
          IFLA_IFALIAS "berth-endpoint e1 @f4ce0001" (no NUL) | 1f 00 14 00 62 65 72 74 68 2d 65 6e 64 70 6f 69 6e 74 20 65 31 20 40 66 34 63 65 30 30 30 31 00
          IFLA_AF_SPEC NESTED | 10 00 1a 80
            AF_INET6 NESTED | 0c 00 0a 80
              IFLA_INET6_ADDR_GEN_MODE 1 | 05 00 08 00 01 00 00 00
        nlmsghdr len=80 type=RTM_NEWLINK flags=REQUEST|ACK seq=20 | 50 00 00 00 10 00 05 00 14 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=0 flags=0 change=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
          IFLA_IFNAME "vb2ffd49df38d19" | 14 00 03 00 76 62 32 66 66 64 34 39 64 66 33 38 64 31 39 00
          IFLA_LINKINFO NESTED | 1c 00 12 80
            IFLA_INFO_SLAVE_KIND "bridge" | 0b 00 04 00 62 72 69 64 67 65 00 00
            IFLA_INFO_SLAVE_DATA NESTED | 0c 00 05 80
              IFLA_BRPORT_MODE 1 | 05 00 04 00 01 00 00 00
        # ctr1
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=1 | 20 00 00 00 10 00 05 00 01 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=1 flags=UP change=UP | 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=32 type=RTM_NEWLINK flags=REQUEST|ACK seq=2 | 20 00 00 00 10 00 05 00 02 00 00 00 00 00 00 00
        ifinfomsg family=0 type=0 index=2 flags=UP change=UP | 00 00 00 00 02 00 00 00 01 00 00 00 01 00 00 00
        nlmsghdr len=48 type=RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=3 | 30 00 00 00 14 00 05 06 03 00 00 00 00 00 00 00
        ifaddrmsg family=2 prefixlen=24 flags=0 scope=0 index=2 | 02 18 00 00 02 00 00 00
          IFA_LOCAL 10.88.0.2 | 08 00 02 00 0a 58 00 02
          IFA_ADDRESS 10.88.0.2 | 08 00 01 00 0a 58 00 02
          IFA_BROADCAST 10.88.0.255 | 08 00 04 00 0a 58 00 ff
        nlmsghdr len=44 type=RTM_NEWROUTE flags=REQUEST|ACK|CREATE|APPEND seq=4 | 2c 00 00 00 18 00 05 0c 04 00 00 00 00 00 00 00
        rtmsg family=2 dst_len=0 src_len=0 tos=0 table=254 protocol=4 scope=0 type=1 flags=0 | 02 00 00 00 fe 04 00 01 00 00 00 00
          RTA_GATEWAY 10.88.0.1 | 08 00 05 00 0a 58 00 01
          RTA_OIF 2 | 08 00 04 00 02 00 00 00
        """)
    }

    @Test("Berth's table with a network, an internal network and a published port")
    func ruleset() throws {
        let host = try FakeHost()
        try host.network()
        try host.network("iso", subnet: "10.90.0.0/24", isInternal: true)
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        expectGolden(host.nftables.ruleset, """
        table ip berth {
        \tmap publish_addr {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv4_addr . ipv4_addr
        \t}

        \tchain guard {
        \t\ttype filter hook prerouting priority raw; policy accept;
        \t\tiifname != "lo" ip daddr 127.0.0.0/8 drop comment "berth: loopback only from lo"
        \t\tiifname != "lo" ip saddr 127.0.0.0/8 drop comment "berth: loopback only from lo"
        \t\tiifname != "lo" ip daddr 10.88.0.0/24 iifname != "brweb" drop comment "berth-network web @f4ce0001"
        \t\tiifname != "lo" ip daddr 10.90.0.0/24 iifname != "briso" drop comment "berth-network iso @f4ce0001"
        \t}

        \tchain prerouting {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tfib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
        \t\tfib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        \t}

        \tchain output {
        \t\ttype nat hook output priority -100; policy accept;
        \t\tfib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @publish_addr
        \t\tfib daddr type local dnat ip to meta l4proto . th dport map @publish_any
        \t}

        \tchain postrouting {
        \t\ttype nat hook postrouting priority srcnat; policy accept;
        \t\tct status dnat ip saddr 127.0.0.0/8 masquerade comment "berth: loopback publishes"
        \t\tct status dnat ip saddr . ip daddr @publication_hairpin masquerade comment "berth: publication hairpin"
        \t\tct status dnat ip saddr 10.88.0.0/24 oifname "brweb" masquerade comment "berth-network web @f4ce0001"
        \t\tip saddr 10.88.0.0/24 oifname != "brweb" masquerade comment "berth-network web @f4ce0001"
        \t}

        \tchain forward {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tiifname "briso" oifname != "briso" drop comment "berth-network iso @f4ce0001"
        \t\toifname "briso" iifname != "briso" drop comment "berth-network iso @f4ce0001"
        \t}
        }

        """)
    }
}
