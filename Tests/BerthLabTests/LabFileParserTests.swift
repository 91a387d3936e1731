import BerthCore
@testable import BerthLab
import BerthLabFile
import BerthNetlink
import BerthTestSupport
import Testing

/// The triangle of the issue, with a rate limit and no netem (this kernel has none).
let triangleYAML = """
name: triangle
nodes:
  r1: { sysctls: { net.ipv4.ip_forward: 1 } }
  r2:
    sysctls: { net.ipv4.ip_forward: 1 }
    routes: [ "10.0.1.0/24 via 10.0.12.1" ]
  h1: { routes: [ "default via 10.0.1.1" ] }
links:
  - endpoints: [ "r1:eth1", "r2:eth1" ]
    addresses: [ 10.0.12.1/30, 10.0.12.2/30 ]
    rate: 16mbit
  - endpoints: [ "h1:eth0", "r1:eth2" ]
    addresses: [ [ 10.0.1.2/24, "fd00:1::2/64" ], [ 10.0.1.1/24, "fd00:1::1/64" ] ]
    mtu: 1400

"""

@Suite("lab file parsing")
struct LabFileParserTests {
    @Test("the triangle parses into nodes, links, addresses, routes, sysctls and a rate")
    func triangle() throws {
        let spec = try LabFileParser.parse(triangleYAML, source: "triangle.yaml")
        #expect(spec.name == "triangle")
        #expect(spec.nodes.map(\.name) == ["r1", "r2", "h1"])
        #expect(spec.node("r1")?.sysctls.first?.key == "net.ipv4.ip_forward")
        #expect(spec.node("r1")?.sysctls.first?.value == "1")
        #expect(spec.node("h1")?.routes.first?.description == "default via 10.0.1.1")
        #expect(spec.node("r2")?.routes.first?.destination?.description == "10.0.1.0/24")
        #expect(spec.links.count == 2)
        let first = spec.links[0]
        #expect(first.key == "r1:eth1 r2:eth1")
        #expect(first.endpoints.map(\.addresses.description) == ["[10.0.12.1/30]", "[10.0.12.2/30]"])
        #expect(first.endpoints.allSatisfy { $0.impairment.rate?.rate.bitsPerSecond == 16_000_000 && $0.impairment.emulation == nil })
        #expect(spec.links[1].mtu == 1400)
        #expect(spec.links[1].endpoints[0].addresses == [try CIDR(parsing: "10.0.1.2/24"), try CIDR(parsing: "fd00:1::2/64")])
        #expect(spec.links[1].endpoints[1].node == "r1")
        #expect(spec.nodes[0].location == SourceLocation(line: 3, column: 3))
    }

    @Test("each publish: entry keeps its position, for a host port that up finds taken; the state's JSON keeps none")
    func publishPositions() throws {
        let spec = try LabFileParser.parse("""
        name: shop
        networks: { lan: {} }
        nodes:
          web:
            network: lan
            publish: [ "9000:90", "8080:80" ]
          api: { network: lan, publish: "8081:81" }
        """, source: "shop.yaml")
        #expect(spec.nodes[0].publishLocations == [SourceLocation(line: 6, column: 16), SourceLocation(line: 6, column: 27)])
        #expect(spec.nodes[1].publishLocations == [SourceLocation(line: 7, column: 33)])
        #expect(spec.withoutLocations().nodes.allSatisfy { $0.publishLocations.isEmpty })
    }

    @Test("a rate's burst holds one frame of the link's MTU (tbf drops larger packets), the link's rate and an end's own; 32 KiB at the default MTU")
    func burstFitsTheMTU() throws {
        let spec = try LabFileParser.parse("""
        name: big
        nodes: { a: {}, b: {}, c: {} }
        links:
          - endpoints: [ "a:eth0", { node: b, interface: eth0, rate: 1mbit } ]
            mtu: 65535
            rate: 10mbit
          - endpoints: [ "a:eth1", "c:eth0" ]
            rate: 10mbit
        """, source: "big.yaml")
        let big = spec.links[0].endpoints.compactMap(\.impairment.rate)
        #expect(big.map(\.burst) == [65_549, 65_549] && big.map(\.rate.bitsPerSecond) == [10_000_000, 1_000_000])
        // The queue keeps its 50 ms of traffic on top of the burst.
        #expect(big.map(\.limit) == [62_500 + 65_549, 6_250 + 65_549])
        #expect(spec.links[1].endpoints.map { $0.impairment.rate?.burst } == [32_768, 32_768])
    }

    @Test("netem, endpoint mappings with a MAC and their own rate, and networks parse")
    func longForms() throws {
        let spec = try LabFileParser.parse("""
        name: wan
        nodes:
          a:
          b: {}
        links:
          - endpoints:
              - { node: a, interface: wan0, addresses: [ 192.0.2.1/24 ], mac: "02:00:00:00:00:0a", rate: 1mbit }
              - "b:wan0"
            addresses: [ ~, 192.0.2.2/24 ]
            rate: 10mbit
            netem: { delay: 20ms, jitter: 2ms, loss: 0.5%, duplicate: "1" }
        """, source: "wan.yaml")
        let (a, b) = (spec.links[0].endpoints[0], spec.links[0].endpoints[1])
        #expect(a.mac?.description == "02:00:00:00:00:0a")
        #expect(a.impairment.rate?.rate.description == "1mbit")
        #expect(b.impairment.rate?.rate.description == "10mbit")
        #expect(b.addresses.map(\.description) == ["192.0.2.2/24"])
        let netem = try #require(a.impairment.emulation)
        #expect(netem.delay.nanoseconds == 20_000_000 && netem.jitter.nanoseconds == 2_000_000 && netem.loss == 0.5 && netem.duplicate == 1)
        #expect(b.impairment.emulation == netem)
    }

    /// Each bad file: the message starts with FILE:LINE:COLUMN of the offending spot.
    @Test("bad files are refused with the file, line and column", arguments: [
        ("unknown key", "name: x\nnodes:\n  r1: { kind: linux }\n", "bad.yaml:3:9:", "unknown key \"kind\""),
        ("unknown top key", "name: x\ntopology: {}\n", "bad.yaml:2:1:", "unknown key \"topology\""),
        ("unknown node", "name: x\nnodes: { r1: {}, r2: {} }\nlinks:\n  - endpoints: [ \"r1:eth0\", \"r9:eth0\" ]\n", "bad.yaml:4:29:", "names node r9"),
        ("interface twice", "name: x\nnodes: { a: {}, b: {}, c: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n  - endpoints: [ \"a:eth0\", \"c:eth0\" ]\n",
         "bad.yaml:5:18:", "interface a:eth0 is used twice (first at 4:18)"),
        ("bad address", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    addresses: [ 10.0.0.1/24, 10.0.0.300/24 ]\n",
         "bad.yaml:5:31:", "address \"10.0.0.300/24\""),
        ("one address on both ends", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    addresses: [ 10.0.0.1/24, 10.0.0.1/24 ]\n",
         "bad.yaml:4:", "address 10.0.0.1 is on both ends of the link a:eth0 – b:eth0"),
        ("address without prefix", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    addresses: [ 10.0.0.1, 10.0.0.2/24 ]\n",
         "bad.yaml:5:18:", "no prefix length"),
        ("interface name over 15 bytes", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:averyverylongname\", \"b:eth0\" ]\n",
         "bad.yaml:4:18:", "15"),
        ("node name not allowed", "name: x\nnodes:\n  \"r 1\": {}\n", "bad.yaml:3:3:", "node name \"r 1\""),
        ("lab name too long", "name: abcdefghijklmnopqrstuvwxyz0123456789\n", "bad.yaml:1:7:", "over 32 bytes"),
        ("no name", "nodes: { a: {} }\n", "bad.yaml:1:1:", "no name"),
        ("YAML syntax", "name: x\nnodes:\n  a: {\n", "bad.yaml:4:1:", "not valid YAML"),
        ("duplicate key", "name: x\nname: y\n", "bad.yaml:", "given twice"),
        ("route through a missing interface", "name: x\nnodes:\n  a: { routes: [ \"10.1.0.0/16 dev eth9\" ] }\n", "bad.yaml:3:18:", "goes through eth9"),
        ("bad route", "name: x\nnodes:\n  a: { routes: [ \"default via\" ] }\n", "bad.yaml:3:18:", "via needs a value"),
        ("one endpoint", "name: x\nnodes: { a: {} }\nlinks:\n  - endpoints: [ \"a:eth0\" ]\n", "bad.yaml:4:16:", "exactly two endpoints"),
        ("bad rate", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    rate: fast\n", "bad.yaml:5:11:", "invalid rate"),
        ("loss over 100%", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    netem: { loss: 150% }\n", "bad.yaml:5:20:", "not a percentage"),
        ("sysctl outside net", "name: x\nnodes:\n  a: { sysctls: { kernel.panic: 1 } }\n", "bad.yaml:3:19:", "not a per-namespace"),
        ("unknown network", "name: x\nnodes:\n  a: { network: lan }\n", "bad.yaml:3:3:", "network lan"),
        ("publish without a network", "name: x\nnodes:\n  a: { publish: [ \"8080:80\" ] }\n", "bad.yaml:3:3:", "joins no network"),
        ("bad port", "name: x\nnetworks: { lan: {}, back: { internal: true } }\nnodes:\n  a: { network: lan, publish: [ \"8080:x\" ] }\n", "bad.yaml:4:33:", "invalid port mapping"),
        ("publish on an internal network", "name: x\nnetworks: { lan: {}, back: { internal: true } }\nnodes:\n  a: { network: back, publish: [ \"80\" ] }\n", "bad.yaml:4:3:", "internal"),
        ("a link on the network's eth0", "name: x\nnetworks: { lan: {}, back: { internal: true } }\nnodes:\n  a: { network: lan }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n",
         "bad.yaml:7:18:", "which network lan gives node a"),
        ("a default route beside the network's", "name: x\nnetworks: { lan: {}, back: { internal: true } }\nnodes:\n  a: { network: lan, routes: [ \"default via 10.0.9.9\" ] }\n", "bad.yaml:4:32:",
         "gives it one already"),
        ("run without cmd", "name: x\nnodes:\n  a: { run: { rootfs: /srv } }\n", "bad.yaml:3:13:", "has no cmd"),
        ("unknown run key", "name: x\nnodes:\n  a: { run: { image: alpine, cmd: [ sh ] } }\n", "bad.yaml:3:15:", "unknown key \"image\""),
        ("relative rootfs from text", "name: x\nnodes:\n  a: { run: { rootfs: ./rootfs, cmd: [ sh ] } }\n", "bad.yaml:3:23:", "is relative"),
        ("relative workdir", "name: x\nnodes:\n  a: { run: { cmd: [ sh ], workdir: www } }\n", "bad.yaml:3:13:", "not an absolute path"),
        ("bad env name", "name: x\nnodes:\n  a: { run: { cmd: [ sh ], env: { \"\": x } } }\n", "bad.yaml:3:13:", "empty name"),
        ("env name with '='", "name: x\nnodes:\n  a: { run: { cmd: [ sh ], env: { \"A=B\": c } } }\n", "bad.yaml:3:", "holds '='"),
        ("env name twice as YAML 1.1 reads it", "name: x\nnodes:\n  a: { run: { cmd: [ sh ], env: { ON: 1, \"ON\": 2 } } }\n", "bad.yaml:3:", "env ON of node a is given twice"),
        ("two routes of one destination and metric", "name: x\nnodes:\n  a: { routes: [ \"10.0.3.0/24 via 10.0.12.2\", \"10.0.3.0/24 via 10.0.13.2\" ] }\n  b: {}\n  c: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 10.0.12.1/24, 10.0.12.2/24 ]\n  - endpoints: [ \"a:eth2\", \"c:eth1\" ]\n    addresses: [ 10.0.13.1/24, 10.0.13.2/24 ]\n", "bad.yaml:3:", "has the destination and metric of route 10.0.3.0/24 via 10.0.12.2"),
        ("privileged not a boolean", "name: x\nnodes:\n  a: { run: { cmd: [ sh ], privileged: yes } }\n", "bad.yaml:3:40:", "not true or false"),
        ("network name", "name: x\nnetworks: { \"-lan\": {} }\nnodes: {}\n", "bad.yaml:2:13:", "invalid network name"),
        ("a network no node joins", "name: x\nnetworks: { lan: {}, wan: {} }\nnodes:\n  a: { network: lan }\n", "bad.yaml:2:22:", "no node joins it"),
        ("a sysctl in two spellings", "name: x\nnodes:\n  a: { sysctls: { net.ipv4.ip_forward: 1, net/ipv4/ip_forward: 1 } }\n", "bad.yaml:3:43:", "given twice (first at 3:19)"),
        ("a sysctl with a '.' part", "name: x\nnodes:\n  a: { sysctls: { net/ipv4/./ip_forward: 1 } }\n", "bad.yaml:3:19:", "not a per-namespace"),
        ("a route with host bits", "name: x\nnodes:\n  a: { routes: [ \"10.0.1.5/24 via 10.0.12.1\" ] }\n", "bad.yaml:3:18:", "past its prefix length"),
        ("a /0 route beside the network's", "name: x\nnetworks: { lan: {} }\nnodes:\n  a: { network: lan, routes: [ \"0.0.0.0/0 via 10.0.9.9\" ] }\n", "bad.yaml:4:32:",
         "gives it one already"),
        ("IPv6 subnet", "name: x\nnetworks: { lan: { subnet: \"fd00::/64\" } }\n", "bad.yaml:2:13:", "not IPv4"),
        ("IPv6 metric 0 beside none", "name: x\nnodes:\n  a: { routes: [ \"fd00:3::/64 via fd00:1::2\", \"fd00:3::/64 via fd00:1::3 metric 0\" ] }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ \"fd00:1::1/64\", \"fd00:1::2/64\" ]\n",
         "bad.yaml:3:", "has the destination and metric of route fd00:3::/64 via fd00:1::2"),
        ("a gateway on none of the node's subnets", "name: x\nnodes:\n  a: { routes: [ \"10.0.3.0/24 via 10.0.13.2\" ] }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 10.0.12.1/24, 10.0.12.2/24 ]\n",
         "bad.yaml:3:18:", "gateway 10.0.13.2 is on none of the node's subnets"),
        ("a link-local gateway without a device", "name: x\nnodes:\n  a: { routes: [ \"default6 via fe80::1\" ] }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n",
         "bad.yaml:3:18:", "link-local gateway and no device"),
        ("an mtu under 1280 with IPv6", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    mtu: 1200\n    addresses: [ \"fd00:1::1/64\", \"fd00:1::2/64\" ]\n",
         "bad.yaml:4:", "under 1280"),
        ("one address with two prefix lengths on one end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ [ \"fd00:1::1/64\", \"fd00:1::1/80\" ], \"fd00:1::2/64\" ]\n",
         "bad.yaml:4:18:", "address fd00:1::1 is given twice on a:eth1"),
        ("a loopback address on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 127.0.0.2/8, 10.0.0.2/24 ]\n",
         "bad.yaml:4:18:", "address 127.0.0.2/8 of a:eth1: a loopback address (127.0.0.0/8) belongs on lo"),
        ("0.0.0.0 on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 10.0.0.1/24, 0.0.0.0/24 ]\n",
         "bad.yaml:4:28:", "address 0.0.0.0/24 of b:eth1: 0.0.0.0 means no address"),
        ("an IPv4 multicast address on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 224.0.0.5/24, ~ ]\n",
         "bad.yaml:4:18:", "multicast address (224.0.0.0/4)"),
        ("the limited broadcast address on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 255.255.255.255/32, ~ ]\n",
         "bad.yaml:4:18:", "255.255.255.255 is the limited broadcast address"),
        ("::1 on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ \"::1/128\", ~ ]\n",
         "bad.yaml:4:18:", "::1 is the loopback address"),
        (":: on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ \"::/64\", ~ ]\n",
         "bad.yaml:4:18:", ":: means no address"),
        ("an IPv6 multicast address on a link end", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ \"ff02::1/64\", ~ ]\n",
         "bad.yaml:4:18:", "multicast address (ff00::/8)"),
        ("a route through the node's own address", "name: x\nnodes:\n  a: { routes: [ \"10.0.3.0/24 via 10.0.12.1\" ] }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 10.0.12.1/24, 10.0.12.2/24 ]\n",
         "bad.yaml:3:18:", "gateway 10.0.12.1 is the node's own address (10.0.12.1/24 on eth1)"),
        ("a route through the node's own link-local address, on that interface", "name: x\nnodes:\n  a: { routes: [ \"fd00:9::/64 via fe80::1 dev eth1\" ] }\n  b: {}\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ \"fe80::1/64\", \"fe80::2/64\" ]\n",
         "bad.yaml:3:18:", "gateway fe80::1 is the node's own address (fe80::1/64 on eth1)"),
        ("one address on two interfaces of a node with two prefix lengths", "name: x\nnodes: { a: {}, b: {}, c: {} }\nlinks:\n  - endpoints: [ \"a:eth1\", \"b:eth1\" ]\n    addresses: [ 10.0.0.1/24, 10.0.0.2/24 ]\n  - endpoints: [ \"a:eth2\", \"c:eth1\" ]\n    addresses: [ 10.0.0.1/30, 10.0.0.2/30 ]\n",
         "bad.yaml:6:18:", "address 10.0.0.1 is given twice in node a (first at 4:18)"),
        ("gateway outside", "name: x\nnetworks: { lan: { subnet: 10.0.9.0/24, gateway: 10.0.8.1 } }\n", "bad.yaml:2:13:", "outside its subnet"),
        ("a rate under 8 bit/s", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    rate: 5bit\n",
         "bad.yaml:4:18:", "rate 5bit of a:eth0 is below 968bit"),
        ("a rate over 1tbit", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    rate: 2tbit\n",
         "bad.yaml:4:18:", "rate 2tbit of a:eth0 is over 1tbit, the most a lab link takes"),
        ("a rate past what the JSON records (9.2e18 bit/s)", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    rate: 10000000tbit\n",
         "bad.yaml:4:18:", "is over 1tbit"),
        ("a rate too slow for tbf's burst", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    rate: 500bit\n",
         "bad.yaml:4:18:", "rate 500bit of a:eth0 is below 968bit"),
        ("a rate too slow for a burst of MTU 65535", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:eth0\" ]\n    mtu: 65535\n    rate: 1kbit\n",
         "bad.yaml:4:18:", "rate 1kbit of a:eth0 is below 1928bit"),
        // Yams tells keys apart by text and tag: `up FILE` and `down FILE` read two names.
        ("a key given twice, once with a tag", "name: x\n!x name: y\n", "bad.yaml:2:1:", "a YAML tag (!x) is used"),
        ("a tagged value", "name: !!str x\n", "bad.yaml:1:7:", "a YAML tag (tag:yaml.org,2002:str) is used"),
        ("a key's text twice, YAML 1.1 resolving the two to an int and a string", "name: x\nnodes:\n  a: { sysctls: { 1: \"0\", \"1\": \"0\" } }\n",
         "bad.yaml:3:27:", "key 1 in sysctls of node a is given twice (first at 3:19)"),
        ("a sysctl with a leading zero", "name: x\nnodes:\n  a: { sysctls: { net.ipv4.ip_forward: 01 } }\n", "bad.yaml:3:19:", "the kernel reads 01 as 1 (write 1"),
        ("a sysctl in hex", "name: x\nnodes:\n  a: { sysctls: { net.ipv4.ip_forward: 0x1 } }\n", "bad.yaml:3:19:", "the kernel reads 0x1 as 1"),
        ("a sysctl in octal", "name: x\nnodes:\n  a: { sysctls: { net.ipv4.ip_local_port_range: \"010 60999\" } }\n", "bad.yaml:3:19:", "the kernel reads 010 as 8"),
        ("a sysctl of minus zero", "name: x\nnodes:\n  a: { sysctls: { net.ipv4.conf.all.rp_filter: -0 } }\n", "bad.yaml:3:19:", "the kernel reads -0 as 0"),
        ("interface all", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:all\", \"b:eth0\" ]\n", "bad.yaml:4:18:",
         "the kernel refuses all as an interface name"),
        ("interface default", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", \"b:default\" ]\n", "bad.yaml:4:28:",
         "the kernel refuses default as an interface name"),
        ("a fallback tunnel's name", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:sit0\", \"b:eth0\" ]\n", "bad.yaml:4:18:",
         "sit0 is the fallback device the kernel's sit module makes"),
        ("another fallback tunnel's name", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:eth0\", { node: b, interface: ip6_vti0 } ]\n", "bad.yaml:4:28:",
         "ip6_vti0 is the fallback device the kernel's ip6_vti module"),
        ("an interface name with a control byte", "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [ \"a:e\\x01\", \"b:eth0\" ]\n", "bad.yaml:4:18:",
         "link endpoint a:e\\x01: the interface name holds a control character"),
        ("two nodes publishing one host port", "name: x\nnetworks: { lan: {} }\nnodes:\n  a: { network: lan, publish: [ \"8080:80\" ] }\n  b: { network: lan, publish: [ \"127.0.0.1:8080:81\" ] }\n",
         "bad.yaml:5:3:", "node b publishes 127.0.0.1:8080:81/tcp, and node a 8080:80/tcp: they take the same host port"),
        ("a node publishing one host port twice, in a range", "name: x\nnetworks: { lan: {} }\nnodes:\n  a: { network: lan, publish: [ \"8000-8009:9000-9009\", \"8005:80\" ] }\n",
         "bad.yaml:4:3:", "node a publishes 8005:80/tcp and 8000-8009:9000-9009/tcp, which take the same host port"),
        ("an address and its family's wildcard publishing one host port", "name: x\nnetworks: { lan: {} }\nnodes:\n  a: { network: lan, publish: [ \"10.1.2.3:8080:80/udp\" ] }\n  b: { network: lan, publish: [ \"0.0.0.0:8080:80/udp\" ] }\n",
         "bad.yaml:5:3:", "node b publishes 0.0.0.0:8080:80/udp, and node a 10.1.2.3:8080:80/udp"),
        ("routes over the cap, counted before any is parsed", "name: x\nnodes:\n  a: { routes: [ " + Array(repeating: "bogus", count: LabNames.maxRoutesPerNode + 1).joined(separator: ", ") + " ] }\n",
         "bad.yaml:3:16:", "node a has over \(LabNames.maxRoutesPerNode) routes"),
        ("sysctls over the cap, counted before any is read", "name: x\nnodes:\n  a: { sysctls: { " + (0...LabNames.maxSysctlsPerNode).map { "k\($0): [ x ]" }.joined(separator: ", ") + " } }\n",
         "bad.yaml:3:17:", "node a has over \(LabNames.maxSysctlsPerNode) sysctls"),
    ])
    func badFiles(_ name: String, _ text: String, _ place: String, _ words: String) {
        let error = #expect(throws: BerthError.self, "\(name)") { try LabFileParser.parse(text, source: "bad.yaml") }
        #expect(error?.code == .invalidArgument, "\(name)")
        #expect(error?.message.hasPrefix(place) == true, "\(name): \(error?.description ?? "no error")")
        #expect(error?.description.contains(words) == true, "\(name): \(error?.description ?? "no error")")
    }

    @Test("a file over 1 MiB and a file whose aliases expand past the node budget are refused")
    func bounds() {
        let big = "name: x\n# " + String(repeating: "x", count: LabFileParser.maxFileSize) + "\n"
        let tooBig = #expect(throws: BerthError.self) { try LabFileParser.parse(big, source: "big.yaml") }
        #expect(tooBig?.message.contains("over") == true)
        // Each level doubles the tree: 2^20 nodes from a few hundred bytes, under keys the
        // reader knows (routes of a node), so no other error comes first.
        var bomb = "name: x\nnodes:\n  a:\n    routes:\n      - &b0 [ 1, 1 ]\n"
        for level in 1...20 { bomb += "      - &b\(level) [ *b\(level - 1), *b\(level - 1) ]\n" }
        let expanded = #expect(throws: BerthError.self) { try LabFileParser.parse(bomb, source: "bomb.yaml") }
        #expect(expanded?.message.contains("expands to more than \(LabFileParser.maxYAMLNodes) YAML nodes") == true, "\(expanded?.description ?? "no error")")
        #expect(expanded?.message.hasPrefix("bomb.yaml:") == true, "\(expanded?.description ?? "no error")")
    }

    @Test("a long value repeated by aliases is refused by the bytes it expands to, before any copy is used: as routes, as environment values",
          arguments: [("routes", 4), ("env", 6)])
    func aliasBytes(_ place: String, _ line: Int) {
        let long = "10.0.0.0/8 via 10.0.0.1" + String(repeating: " ", count: 60_000)
        // 100 copies of 60 KB: 6 MB, over four files' worth, from a file of 60 KB.
        let text = place == "routes"
            ? "name: x\nnodes:\n  a:\n    routes: [ &a \"\(long)\"" + String(repeating: ", *a", count: 100) + " ]\n"
            : "name: x\nnodes:\n  a:\n    run:\n      cmd: [ sh ]\n      env: { k0: &a \"\(long)\"" + (1...100).map { ", k\($0): *a" }.joined() + " }\n"
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "big.yaml") }
        #expect(error?.message.hasPrefix("big.yaml:\(line):") == true, "\(error?.description.prefix(300) ?? "no error")")
        #expect(error?.message.contains("the file's values, aliases expanded, are over \(LabFileParser.maxExpandedBytes) bytes") == true,
                "\(error?.description.prefix(300) ?? "no error")")
    }

    @Test("nested aliases of a 3 KB value, 30 MB expanded from 3 KB and 10^4 nodes, are refused by their bytes at the first anchor past the budget")
    func nestedAliasBytes() {
        var text = "name: x\nnodes:\n  a:\n    routes:\n      - &a0 \"" + String(repeating: "x", count: 3000) + "\"\n"
        for level in 1...4 { text += "      - &a\(level) [ " + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + " ]\n" }
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "bomb.yaml") }
        // a3 holds 3 MB; a4 passes 4 MiB at its second alias.
        #expect(error?.message.hasPrefix("bomb.yaml:9:") == true, "\(error?.description.prefix(300) ?? "no error")")
        #expect(error?.message.contains("aliases expanded, are over \(LabFileParser.maxExpandedBytes) bytes") == true, "\(error?.description.prefix(300) ?? "no error")")
    }

    @Test("a value over 64 KiB is refused at its line and column, unparsed")
    func longValue() {
        let text = "name: x\nnodes:\n  a: { routes: [ \"10.0.0.0/8 via 10.0.0.1" + String(repeating: " ", count: 70_000) + "\" ] }\n"
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "big.yaml") }
        #expect(error?.message.hasPrefix("big.yaml:3:18: a value of 70023 bytes; a lab file's values are at most 65536") == true,
                "\(error?.description.prefix(300) ?? "no error")")
    }

    @Test("published ports that take different host traffic, sysctl numbers as the kernel shows them, and kernel-valid interface names are taken")
    func distinctPortsAndCanonicalValues() throws {
        let spec = try LabFileParser.parse("""
        name: x
        networks: { lan: {} }
        nodes:
          a: { network: lan, publish: [ "8080:80", "8080:80/udp", "127.0.0.1:9000:90", "9001-9009:91-99" ], sysctls: { net.ipv4.ip_forward: 0, net.ipv4.conf.all.rp_filter: -1 } }
          b: { network: lan, publish: [ "127.0.0.2:9000:90", "[::]:9000:90", "8081:80", "80", "9000-9010:80" ], sysctls: { net.ipv4.ip_local_port_range: "1024 65000" } }
          c: {}
        links:
          - endpoints: [ "c:alle", "c:sit1" ]
        """, source: "ok.yaml")
        #expect(spec.nodes.map(\.publish.count) == [4, 5, 0])
        #expect(spec.node("b")?.sysctls.first?.value == "1024 65000")
    }

    @Test("the kernel's reading of a sysctl number: base 0 as C's strtoul, an optional minus, nothing past 64 bits")
    func kernelIntegers() {
        let cases: [(String, String?)] = [("1", "1"), ("01", "1"), ("010", "8"), ("0x1F", "31"), ("0X10", "16"), ("-0", "0"), ("-5", "-5"), ("0", "0"),
                                          ("08", nil), ("0x", nil), ("+1", nil), ("cubic", nil), ("１", nil), ("18446744073709551616", nil)]
        for (word, decimal) in cases { #expect(NodeSpec.Sysctl.kernelInteger(Substring(word)) == decimal, "\(word)") }
    }

    @Test("ten levels of ten aliases, the last as a key (10^10 steps for Yams' key hashing), are refused at once, with line and column")
    func aliasKeyBomb() {
        var text = "name: x\nnodes:\n  a:\na0: &a0 [ " + Array(repeating: "x", count: 10).joined(separator: ", ") + " ]\n"
        for level in 1...9 { text += "a\(level): &a\(level) [ " + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + " ]\n" }
        text += "? *a9\n: 1\n"
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "bomb.yaml") }
        #expect(clock.now - start < .milliseconds(500))
        // a5 is the first anchor over the budget (10^6 nodes), at its last alias.
        #expect(error?.message.hasPrefix("bomb.yaml:9:") == true, "\(error?.description ?? "no error")")
        #expect(error?.message.contains("expands to more than \(LabFileParser.maxYAMLNodes) YAML nodes") == true, "\(error?.description ?? "no error")")
    }

    @Test("an alias as a key, or a key that is a list or mapping, is refused at its line and column",
          arguments: [("? *v", "alias *v is used as a key"), ("? [ *v ]", "key is a list or mapping"), ("? { k: *v }", "key is a list or mapping")])
    func aliasKeys(_ key: String, _ words: String) {
        let text = "name: x\nnodes:\n  a:\nv: &v [ x ]\n\(key)\n: 1\n"
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "keys.yaml") }
        #expect(error?.message.hasPrefix("keys.yaml:5:3:") == true, "\(error?.description ?? "no error")")
        #expect(error?.message.contains(words) == true, "\(error?.description ?? "no error")")
    }

    @Test("aliases for values still work, counted with their expansion")
    func aliasValues() throws {
        let text = "name: x\nnodes:\n  a: { sysctls: &s { net.ipv4.ip_forward: 1 } }\n  b: { sysctls: *s }\n"
        let spec = try LabFileParser.parse(text, source: "ok.yaml")
        #expect(spec.node("b")?.sysctls.map(\.key) == ["net.ipv4.ip_forward"])
    }

    @Test("networks and published ports are capped")
    func serviceCaps() {
        var text = "name: x\nnetworks:\n"
        for i in 0...LabNames.maxNetworks { text += "  n\(i): {}\n" }
        let networks = #expect(throws: BerthError.self) { try LabFileParser.parse(text + "nodes: { a: { network: n0 } }\n", source: "many.yaml") }
        #expect(networks?.message.contains("many.yaml:3:3: over \(LabNames.maxNetworks) networks") == true, "\(networks?.description ?? "no error")")
        let ports = (0...LabNames.maxPublishPerNode).map { "\"\(10000 + $0):80\"" }.joined(separator: ", ")
        let publish = #expect(throws: BerthError.self) {
            try LabFileParser.parse("name: x\nnetworks: { lan: {} }\nnodes:\n  a: { network: lan, publish: [ \(ports) ] }\n", source: "many.yaml")
        }
        #expect(publish?.message.contains("publishes over \(LabNames.maxPublishPerNode) ports") == true, "\(publish?.description ?? "no error")")
    }

    @Test("a link-local gateway is one interface's: the node's own fe80::1 on eth1 does not refuse a route via fe80::1 dev eth2 (a neighbour there), as the kernel takes it")
    func linkLocalGatewayPerInterface() throws {
        let spec = try LabFileParser.parse("""
        name: x
        nodes:
          a: { routes: [ "fd00:9::/64 via fe80::1 dev eth2" ] }
          b: {}
          c: {}
        links:
          - endpoints: [ "a:eth1", "b:eth1" ]
            addresses: [ "fe80::1/64", "fe80::2/64" ]
          - endpoints: [ "a:eth2", "c:eth1" ]
            addresses: [ "fe80::3/64", "fe80::1/64" ]
        """, source: "ll.yaml")
        #expect(spec.node("a")?.routes.map(\.description) == ["fd00:9::/64 via fe80::1 dev eth2"])
    }

    @Test("a /0 route is the default route, IPv4 metric 0 is none, as the kernel reports them")
    func routeSpellings() throws {
        let v4 = try LabRoute(parsing: "0.0.0.0/0 via 10.0.0.1")
        #expect(v4.destination == nil && v4.description == "default via 10.0.0.1")
        #expect(v4.comparable == (try LabRoute(parsing: "default via 10.0.0.1")).comparable)
        let v6 = try LabRoute(parsing: "::/0 via fd00::1")
        #expect(v6.destination == nil && v6.family == .ipv6 && v6.description == "default6 via fd00::1")
        #expect((try LabRoute(parsing: "10.0.3.0/24 via 10.0.0.1 metric 0")).comparable == (try LabRoute(parsing: "10.0.3.0/24 via 10.0.0.1")).comparable)
        #expect((try LabRoute(parsing: "fd00:3::/64 via fd00::1 metric 1024")).comparable == (try LabRoute(parsing: "fd00:3::/64 via fd00::1")).comparable)
        // The kernel makes an IPv6 metric 0 its 1024.
        #expect((try LabRoute(parsing: "fd00:3::/64 via fd00::1 metric 0")).comparable == (try LabRoute(parsing: "fd00:3::/64 via fd00::1")).comparable)
    }

    @Test("the open files a convergence keeps: 2 a node and 64; 480 nodes fit a soft limit of 1,024, 481 do not, and 1,024 nodes need 2,112")
    func fileLimit() {
        #expect(LabFileLimit.needed(nodes: 480) == 1024 && LabFileLimit.problem(nodes: 480, soft: 1024, hard: 1024) == nil)
        #expect(LabFileLimit.problem(nodes: 481, soft: 1024, hard: 4096)
                == "a lab of 481 nodes needs 1026 open files while it converges (2 a node and 64 more), and this process may open 1024 (RLIMIT_NOFILE, hard limit 4096)")
        #expect(LabFileLimit.needed(nodes: LabNames.maxNodes) == 2112 && LabFileLimit.problem(nodes: LabNames.maxNodes, soft: 524_288, hard: 524_288) == nil)
    }

    @Test("node and link counts are capped")
    func caps() {
        var text = "name: x\nnodes:\n"
        for i in 0...LabNames.maxNodes { text += "  n\(i):\n" }
        let error = #expect(throws: BerthError.self) { try LabFileParser.parse(text, source: "many.yaml") }
        #expect(error?.message.contains("over \(LabNames.maxNodes) nodes") == true)
    }

    @Test("mutated files never crash the parser: each parses or fails with a BerthError naming the file")
    func mutations() {
        var generator = SplitMix(seed: 18)
        let base = Array(triangleYAML.utf8)
        let alphabet = Array(":-[]{}\"'&*!|>%#,\n /.0123456789abcxyz~".utf8)
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 4 {
                case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                case 2: bytes.remove(at: position)
                default: bytes = Array(bytes[..<position])
                }
                if bytes.isEmpty { bytes = [0x0A] }
            }
            do {
                _ = try LabFileParser.parse(String(decoding: bytes, as: UTF8.self), source: "m.yaml")
            } catch {
                #expect(error.message.hasPrefix("m.yaml"), "\(error)")
            }
        }
    }
}
