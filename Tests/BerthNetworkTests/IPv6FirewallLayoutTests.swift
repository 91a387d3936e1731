import BerthCore
import BerthNFTables
import BerthNetwork
import BerthTestSupport
import Testing

/// The proposed `ip6 berth` table (docs/nftables.md, "IPv6"), rendered from the fake
/// backend as `nft list table ip6 berth` prints it; IPv6FirewallKernelTests loads the
/// same transaction into the kernel and sends traffic through it.
@Suite("IPv6 firewall layout")
struct IPv6FirewallLayoutTests {
    /// Three networks — `web` (a ULA /64), `dmz` (a global /64, masqueraded the same way)
    /// and the internal `iso` — and three publishes of two endpoints.
    static func transaction() throws -> Transaction {
        var transaction = Transaction()
        for object in IPv6FirewallLayout.skeleton { transaction.add(object) }
        for rule in IPv6FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        let networks: [(String, String, String, Bool)] = [
            ("web", "fd12:3456:789a:b348::/64", "br-9dac4f8b21d1", false),
            ("dmz", "2001:db8:1::/64", "br-41c0ffee0001", false),
            ("iso", "fd12:3456:789a:1::/64", "br-50ba11ad0002", true),
        ]
        for (name, subnet, bridge, isInternal) in networks {
            for rule in IPv6FirewallLayout.networkRules(name: name, instance: "f4ce0001", subnet: try CIDR(parsing: subnet), bridge: try InterfaceName(bridge),
                                                        isInternal: isInternal) {
                transaction.add(.rule(rule))
            }
        }
        let one = try IPv6Address(parsing: "fd12:3456:789a:b348::2"), two = try IPv6Address(parsing: "2001:db8:1::2")
        let mappings: [(PortMappingRecord, IPv6Address)] = [
            (PortMappingRecord(endpointID: "one", proto: .tcp, hostAddress: .v6(.any), hostPort: 8080, containerPort: 80), one),
            (PortMappingRecord(endpointID: "one", proto: .udp, hostAddress: .v6(.any), hostPort: 5353, containerPort: 53), one),
            (PortMappingRecord(endpointID: "two", proto: .tcp, hostAddress: try IPAddress(parsing: "2001:db8::10"), hostPort: 8081, containerPort: 80), two),
        ]
        for (mapping, container) in mappings {
            let (element, map) = try #require(IPv6FirewallLayout.element(for: mapping, container: container, instance: "f4ce0001"))
            transaction.create(.element(element, in: map))
        }
        return transaction
    }

    static let golden = """
    table ip6 berth {
    	map publish_addr {
    		type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
    		elements = { 2001:db8::10 . tcp . 8081 comment "berth-endpoint two @f4ce0001" : 2001:db8:1::2 . 80 }
    	}

    	map publish_any {
    		type inet_proto . inet_service : ipv6_addr . inet_service
    		elements = { tcp . 8080 comment "berth-endpoint one @f4ce0001" : fd12:3456:789a:b348::2 . 80,
    			     udp . 5353 comment "berth-endpoint one @f4ce0001" : fd12:3456:789a:b348::2 . 53 }
    	}

    	set publication_hairpin {
    		type ipv6_addr . ipv6_addr
    	}

    	chain guard {
    		type filter hook prerouting priority raw; policy accept;
    		iifname != "lo" ip6 daddr fd12:3456:789a:b348::/64 iifname != "br-9dac4f8b21d1" drop comment "berth-network web @f4ce0001"
    		iifname != "lo" ip6 daddr 2001:db8:1::/64 iifname != "br-41c0ffee0001" drop comment "berth-network dmz @f4ce0001"
    		iifname != "lo" ip6 daddr fd12:3456:789a:1::/64 iifname != "br-50ba11ad0002" drop comment "berth-network iso @f4ce0001"
    	}

    	chain prerouting {
    		type nat hook prerouting priority dstnat; policy accept;
    		ip6 daddr fe80::/10 return comment "berth: link-local is not published"
    		fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr
    		fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any
    	}

    	chain output {
    		type nat hook output priority -100; policy accept;
    		ip6 daddr ::1 return comment "berth: ::1 is not published"
    		ip6 daddr fe80::/10 return comment "berth: link-local is not published"
    		fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @publish_addr
    		fib daddr type local dnat ip6 to meta l4proto . th dport map @publish_any
    	}

    	chain postrouting {
    		type nat hook postrouting priority srcnat; policy accept;
    		ct status dnat ip6 saddr . ip6 daddr @publication_hairpin masquerade comment "berth: publication hairpin"
    		ct status dnat ip6 saddr fd12:3456:789a:b348::/64 oifname "br-9dac4f8b21d1" masquerade comment "berth-network web @f4ce0001"
    		ip6 saddr fd12:3456:789a:b348::/64 oifname != "br-9dac4f8b21d1" masquerade comment "berth-network web @f4ce0001"
    		ct status dnat ip6 saddr 2001:db8:1::/64 oifname "br-41c0ffee0001" masquerade comment "berth-network dmz @f4ce0001"
    		ip6 saddr 2001:db8:1::/64 oifname != "br-41c0ffee0001" masquerade comment "berth-network dmz @f4ce0001"
    	}

    	chain forward {
    		type filter hook forward priority filter; policy accept;
    		iifname "br-50ba11ad0002" oifname != "br-50ba11ad0002" drop comment "berth-network iso @f4ce0001"
    		oifname "br-50ba11ad0002" iifname != "br-50ba11ad0002" drop comment "berth-network iso @f4ce0001"
    	}
    }

    """

    @Test("the ip6 table with three networks and three publishes, as nft prints it")
    func rendered() throws {
        let backend = FakeBackend()
        try backend.apply(Self.transaction())
        let table = try #require(try backend.list(table: IPv6FirewallLayout.table))
        expectGolden(Renderer.table(table), Self.golden)
    }

    @Test("a mapping on an IPv4 host address has no IPv6 element; [::] and a v6 address do")
    func elementsPerFamily() throws {
        let container = try IPv6Address(parsing: "fd00:1::2")
        let v4 = PortMappingRecord(endpointID: "e", proto: .tcp, hostAddress: .v4(.any), hostPort: 8080, containerPort: 80)
        #expect(IPv6FirewallLayout.element(for: v4, container: container, instance: "f4ce0001") == nil)
        let v4Host = PortMappingRecord(endpointID: "e", proto: .tcp, hostAddress: .v4(IPv4Address(192, 0, 2, 1)), hostPort: 8080, containerPort: 80)
        #expect(IPv6FirewallLayout.element(for: v4Host, container: container, instance: "f4ce0001") == nil)
        let any = PortMappingRecord(endpointID: "e", proto: .sctp, hostAddress: .v6(.any), hostPort: 9, containerPort: 9)
        #expect(IPv6FirewallLayout.element(for: any, container: container, instance: "f4ce0001")?.1 == IPv6FirewallLayout.publishAny)
        #expect(IPv6FirewallLayout.element(for: any, container: container, instance: "f4ce0001")?.0.rendered == "sctp . 9 comment \"berth-endpoint e @f4ce0001\" : fd00:1::2 . 9")
    }
}
