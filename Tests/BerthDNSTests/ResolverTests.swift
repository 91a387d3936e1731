import BerthCore
import Testing
@testable import BerthDNS

/// Two networks: `front` (10.89.0.0/24, web and db) and `back` (10.90.0.0/24, cache), and
/// a v6 endpoint on front.
func sampleTable() throws -> DNSTable {
    let front = DNSNetworkZone(
        name: "front", listenAddresses: [.v4(IPv4Address(10, 89, 0, 1))], subnets: [try CIDR(parsing: "10.89.0.0/24")],
        endpoints: [
            DNSEndpointNames(name: name("web"), aliases: [name("www"), name("lb")], addresses: [.v4(IPv4Address(10, 89, 0, 2))]),
            DNSEndpointNames(name: name("db"), aliases: [name("lb")], addresses: [.v4(IPv4Address(10, 89, 0, 3))]),
            DNSEndpointNames(name: name("six"), addresses: [.v4(IPv4Address(10, 89, 0, 4)), .v6(try IPv6Address(parsing: "fd00::4"))]),
        ])
    let back = DNSNetworkZone(
        name: "back", listenAddresses: [.v4(IPv4Address(10, 90, 0, 1))], subnets: [try CIDR(parsing: "10.90.0.0/24")],
        endpoints: [DNSEndpointNames(name: name("cache"), addresses: [.v4(IPv4Address(10, 90, 0, 2))])])
    return DNSTable(networks: [front, back])
}

func query(_ text: String, _ type: DNSRecordType, id: UInt16 = 0x4242, edns: DNSEDNS? = nil) -> DNSMessage {
    var header = DNSHeader(id: id)
    header.recursionDesired = true
    return DNSMessage(header: header, questions: [DNSQuestion(name: name(text), type: type)], edns: edns)
}

@Suite("DNS resolver engine")
struct ResolverTests {
    let resolver: DNSResolver
    let front = 0, back = 1

    init() throws {
        resolver = try DNSResolver(table: sampleTable())
    }

    func answer(_ query: DNSMessage, zone: Int = 0) throws -> DNSMessage {
        guard case .answer(let message) = resolver.resolve(query, zone: zone) else {
            throw SandboxlessError("expected an answer for \(query.questions)")
        }
        return message
    }

    @Test("A for a name on the network: its address, authoritative, TTL 0, question echoed")
    func localA() throws {
        let response = try answer(query("web", .a))
        #expect(response.header.id == 0x4242)
        #expect(response.header.isResponse && response.header.isAuthoritative && response.header.recursionAvailable)
        #expect(response.header.recursionDesired)
        #expect(response.responseCode == .noError)
        #expect(response.questions == [DNSQuestion(name: name("web"), type: .a)])
        #expect(response.answers == [DNSRecord(name: name("web"), ttl: 0, data: .a(IPv4Address(10, 89, 0, 2)))])
    }

    @Test("names match case-insensitively, with or without a trailing dot, and the answer keeps the asked case")
    func caseAndDot() throws {
        for text in ["WEB", "web.", "Web.", "wWw"] {
            let response = try answer(query(text, .a))
            #expect(response.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))], "\(text)")
            #expect(response.answers.first?.name.wire == name(text).wire)
        }
    }

    @Test("NAME.NETWORK also resolves, and PTR answers with it")
    func qualified() throws {
        #expect(try answer(query("db.front", .a)).answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 3))])
        let ptr = try answer(query("3.0.89.10.in-addr.arpa", .ptr))
        #expect(ptr.answers.map(\.data) == [.ptr(name("db.front"))])
    }

    @Test("an alias shared by two endpoints answers both addresses")
    func sharedAlias() throws {
        #expect(try answer(query("lb", .a)).answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2)), .a(IPv4Address(10, 89, 0, 3))])
    }

    @Test("AAAA for a v4-only name is NOERROR with no data and an SOA, not NXDOMAIN")
    func noData() throws {
        let response = try answer(query("web", .aaaa))
        #expect(response.responseCode == .noError)
        #expect(response.answers.isEmpty)
        #expect(response.authorities.map(\.type) == [.soa])
        #expect(response.authorities.first?.ttl == 0)
        // And MX, TXT, anything else for a local name.
        #expect(try answer(query("web", .mx)).responseCode == .noError)
    }

    @Test("AAAA and ANY for a dual-stack name")
    func dualStack() throws {
        #expect(try answer(query("six", .aaaa)).answers.map(\.data) == [.aaaa(try IPv6Address(parsing: "fd00::4"))])
        #expect(try answer(query("six", .any)).answers.map(\.type) == [.a, .aaaa])
        let ptr = try answer(query("4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", .ptr))
        #expect(ptr.answers.map(\.data) == [.ptr(name("six.front"))])
    }

    @Test("a name that exists only on another network is forwarded, as any name this network does not serve")
    func otherNetwork() throws {
        // Docker's embedded DNS and aardvark-dns serve each network's names to that network
        // only: an instant NXDOMAIN would tell back's containers what front holds.
        #expect(resolver.resolve(query("cache", .a), zone: front) == .forward)
        #expect(resolver.resolve(query("cache.back", .a), zone: front) == .forward)
        #expect(resolver.resolve(query("web", .a), zone: back) == .forward)
        #expect(resolver.resolve(query("www.front", .a), zone: back) == .forward)
        #expect(try answer(query("cache", .a), zone: back).answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 2))])
    }

    @Test("another network's names never shadow public names: network com with endpoint google, alias api.github.com")
    func otherNetworkPublicNames() throws {
        let com = DNSNetworkZone(
            name: "com", listenAddresses: [.v4(IPv4Address(10, 91, 0, 1))], subnets: [try CIDR(parsing: "10.91.0.0/24")],
            endpoints: [DNSEndpointNames(name: name("google"), aliases: [name("api.github.com")], addresses: [.v4(IPv4Address(10, 91, 0, 2))])])
        let b = DNSNetworkZone(name: "b", listenAddresses: [.v4(IPv4Address(10, 92, 0, 1))], subnets: [try CIDR(parsing: "10.92.0.0/24")])
        let resolver = try DNSResolver(table: DNSTable(networks: [com, b]))
        #expect(resolver.resolve(query("google.com.", .a), zone: 1) == .forward)
        #expect(resolver.resolve(query("api.github.com", .a), zone: 1) == .forward)
        #expect(resolver.resolve(query("google", .a), zone: 1) == .forward)
        // On its own network the names are still answered.
        guard case .answer(let own) = resolver.resolve(query("api.github.com", .a), zone: 0) else {
            Issue.record("no local answer on com")
            return
        }
        #expect(own.answers.map(\.data) == [.a(IPv4Address(10, 91, 0, 2))])
    }

    @Test("reverse lookups of Berth addresses stay local; other addresses are forwarded")
    func reverse() throws {
        // An address of this network with no endpoint, and one of the other network.
        #expect(try answer(query("99.0.89.10.in-addr.arpa", .ptr)).responseCode == .nameError)
        #expect(try answer(query("2.0.90.10.in-addr.arpa", .ptr)).responseCode == .nameError)
        #expect(resolver.resolve(query("8.8.8.8.in-addr.arpa", .ptr), zone: front) == .forward)
        // A PTR name asked for another type: the name exists, no data.
        #expect(try answer(query("2.0.89.10.in-addr.arpa", .a)).responseCode == .noError)
        // A malformed label under a served subnet's reverse zone names nothing there
        // (partial names: ResolverNegativeTests).
        #expect(try answer(query("02.0.89.10.in-addr.arpa", .ptr)).responseCode == .nameError)
    }

    @Test("unknown names, other classes and sub-names of local names are forwarded")
    func forwarded() {
        #expect(resolver.resolve(query("example.com", .a), zone: front) == .forward)
        #expect(resolver.resolve(query("x.web", .a), zone: front) == .forward)
        var chaos = query("web", .txt)
        chaos.questions[0].recordClass = .chaos
        #expect(resolver.resolve(chaos, zone: front) == .forward)
    }

    @Test("a reverse name of a served subnet in another class (CH, HS) is refused here, never forwarded; outside Berth's subnets it is forwarded")
    func reverseOtherClass() throws {
        for text in ["2.0.89.10.in-addr.arpa", "77.0.89.10.in-addr.arpa", "0.89.10.in-addr.arpa", "x.0.89.10.in-addr.arpa"] {
            for recordClass in [DNSClass.chaos, DNSClass(rawValue: 4)] {
                var asked = query(text, .ptr)
                asked.questions[0].recordClass = recordClass
                let reply = try answer(asked)
                #expect(reply.responseCode == .refused && reply.answers.isEmpty, "\(text) \(recordClass)")
                #expect(reply.questions == asked.questions)
            }
        }
        var outside = query("1.2.0.192.in-addr.arpa", .ptr)
        outside.questions[0].recordClass = .chaos
        #expect(resolver.resolve(outside, zone: front) == .forward)
    }

    @Test("responses are dropped; other opcodes NOTIMP; zero or two questions FORMERR; EDNS version 1 BADVERS")
    func refusals() throws {
        var response = query("web", .a)
        response.header.isResponse = true
        #expect(resolver.resolve(response, zone: front) == .drop)

        var notify = query("web", .a)
        notify.header.opcode = .notify
        #expect(try answer(notify).responseCode == .notImplemented)

        var two = query("web", .a)
        two.questions.append(DNSQuestion(name: name("db"), type: .a))
        #expect(try answer(two).responseCode == .formatError)
        var none = query("web", .a)
        none.questions = []
        #expect(try answer(none).responseCode == .formatError)

        let badVersion = try answer(query("web", .a, edns: DNSEDNS(udpPayloadSize: 1232, version: 1)))
        #expect(badVersion.responseCode == .badVersion)
        #expect(badVersion.edns?.version == 0)
        #expect(try answer(query("web", .init(rawValue: 252))).responseCode == .notImplemented)
    }

    @Test("EDNS in a query gets EDNS with the resolver's payload size in the answer")
    func ednsAnswer() throws {
        let response = try answer(query("web", .a, edns: DNSEDNS(udpPayloadSize: 4096)))
        #expect(response.edns?.udpPayloadSize == 1232)
        #expect(try answer(query("web", .a)).edns == nil)
    }

    @Test("only the network's own subnets are admitted; the network is found by listen address")
    func admission() throws {
        #expect(resolver.zone(listeningOn: .v4(IPv4Address(10, 89, 0, 1))) == front)
        #expect(resolver.zone(listeningOn: .v4(IPv4Address(10, 90, 0, 1))) == back)
        #expect(resolver.zone(listeningOn: .v4(IPv4Address(10, 91, 0, 1))) == nil)
        #expect(resolver.admits(source: .v4(IPv4Address(10, 89, 0, 7)), zone: front))
        #expect(!resolver.admits(source: .v4(IPv4Address(10, 90, 0, 7)), zone: front))
        #expect(!resolver.admits(source: .v4(IPv4Address(192, 0, 2, 2)), zone: front))
    }
}

@Suite("DNS table validation")
struct TableTests {
    @Test("a name held twice on one network is refused naming the holder")
    func duplicateName() throws {
        var table = try sampleTable()
        table.networks[0].endpoints.append(DNSEndpointNames(name: name("WEB"), addresses: [.v4(IPv4Address(10, 89, 0, 9))]))
        let error = try #require(throws: BerthError.self) { try table.validate() }
        #expect(error.code == .conflict)
        #expect(error.message.contains("web at 10.89.0.2"))
        #expect(error.object == .network("front"))
    }

    @Test("an alias equal to another endpoint's name is refused")
    func aliasClash() throws {
        var table = try sampleTable()
        table.networks[0].endpoints[1].aliases.append(name("web"))
        let error = try #require(throws: BerthError.self) { try table.validate() }
        #expect(error.code == .conflict)
        #expect(error.message.contains("alias web of db"))
    }

    @Test("the same name on two networks is fine")
    func sameNameTwoNetworks() throws {
        var table = try sampleTable()
        table.networks[1].endpoints.append(DNSEndpointNames(name: name("web"), addresses: [.v4(IPv4Address(10, 90, 0, 9))]))
        let resolver = try DNSResolver(table: table)
        guard case .answer(let response) = resolver.resolve(query("web", .a), zone: 1) else {
            Issue.record("no answer")
            return
        }
        #expect(response.answers.map(\.data) == [.a(IPv4Address(10, 90, 0, 9))])
    }

    @Test("0.0.0.0, a shared listen address, or a network without subnet is refused")
    func listeners() throws {
        var table = try sampleTable()
        table.networks[0].listenAddresses = [.v4(.any)]
        #expect(throws: BerthError.self) { try table.validate() }
        table = try sampleTable()
        table.networks[1].listenAddresses = table.networks[0].listenAddresses
        #expect((try? table.validate()) == nil)
        table = try sampleTable()
        table.networks[0].subnets = []
        #expect(throws: BerthError.self) { try table.validate() }
    }

    @Test("host names: letters, digits, '-' and '_'; no leading or trailing '-'; labels up to 63")
    func hostnames() throws {
        for good in ["web", "web-1", "my_db", "a.b", "x" + String(repeating: "y", count: 62)] {
            #expect(throws: Never.self, "\(good)") { _ = try DNSName(hostname: good) }
        }
        for bad in ["", ".", "-web", "web-", "we b", "web..x", "wéb", "x" + String(repeating: "y", count: 63), "a/b"] {
            #expect(throws: BerthError.self, "\(bad)") { _ = try DNSName(hostname: bad) }
        }
    }
}

struct SandboxlessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("DNS table file and resolv.conf")
struct TableFileTests {
    @Test("the table file round-trips through render and parse")
    func roundTrip() throws {
        var table = try sampleTable()
        table.networks[1].upstreams = [try DNSUpstream(parsing: "192.0.2.53:5353"), try DNSUpstream(parsing: "[fd00::53]")]
        #expect(try DNSTableFile.parse(DNSTableFile.render(table)) == table)
    }

    @Test("errors name the line and the problem")
    func errors() throws {
        let cases: [(String, String)] = [
            ("endpoint web address=10.0.0.2\n", "line 1: an endpoint comes before any network line"),
            ("network n listen=10.0.0.1 subnet=10.0.0.0/24\nendpoint -web address=10.0.0.2\n", "line 2: \"-web\" is not a valid DNS name"),
            ("network n listen=10.0.0.1 subnet=10.0.0.0/24\nendpoint web\n", "line 2: endpoint web has no address="),
            ("network n listen=10.0.0.1 subnet=10.0.0.0/24 colour=red\n", "line 1: unknown setting \"colour\""),
            ("network n listen=10.0.0.300 subnet=10.0.0.0/24\n", "line 1: invalid IP address \"10.0.0.300\""),
            ("hosts a b\n", "line 1: unknown keyword \"hosts\""),
            ("network n listen=10.0.0.1\n", "network n has no subnet"),
        ]
        for (text, expected) in cases {
            let error = try #require(throws: BerthError.self) { try DNSTableFile.parse(text) }
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("resolv.conf: nameservers in order, the last search or domain line, options; junk skipped")
    func resolvConf() {
        let conf = ResolvConf(parsing: """
            # generated
            domain old.example
            nameserver 127.0.0.53
            nameserver fe80::1%eth0
            nameserver 192.0.2.53 # comment
            search a.example b.example
            options edns0 trust-ad
            nameserver not-an-address
            """)
        #expect(conf.nameservers == [.v4(IPv4Address(127, 0, 0, 53)), .v4(IPv4Address(192, 0, 2, 53))])
        #expect(conf.searchDomains == ["a.example", "b.example"])
        #expect(conf.options == ["edns0", "trust-ad"])
        #expect(conf.upstreams.map(\.description) == ["127.0.0.53", "192.0.2.53"])
    }

    @Test("a container's resolv.conf: the gateway, the host's search list and options, ndots:0 unless given")
    func containerText() {
        let conf = ResolvConf(parsing: "nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n")
        #expect(conf.containerText(nameservers: [.v4(IPv4Address(10, 89, 0, 1))]) == """
            # Written by Berth: the network's resolver; search domains and options from the host.
            nameserver 10.89.0.1
            search corp.example
            options edns0 ndots:0

            """)
        #expect(ResolvConf(parsing: "options ndots:2").containerText(nameservers: []).hasSuffix("options ndots:2\n"))
    }

    @Test("upstream syntax: address, address:port, [v6]:port; bad ports and 0.0.0.0 refused")
    func upstreams() throws {
        #expect(try DNSUpstream(parsing: "192.0.2.1") == DNSUpstream(address: .v4(IPv4Address(192, 0, 2, 1))))
        #expect(try DNSUpstream(parsing: "192.0.2.1:5353").port == 5353)
        #expect(try DNSUpstream(parsing: "[fd00::1]:54").description == "[fd00::1]:54")
        #expect(try DNSUpstream(parsing: "fd00::1").port == 53)
        for bad in ["192.0.2.1:0", "192.0.2.1:70000", "[fd00::1", "0.0.0.0", "name.example", "[fd00::1]x"] {
            #expect(throws: BerthError.self, "\(bad)") { _ = try DNSUpstream(parsing: bad) }
        }
    }

    @Test("reverse names: both directions, both families")
    func reverseNames() throws {
        let v4 = IPAddress.v4(IPv4Address(10, 89, 0, 2))
        #expect(ReverseName.name(for: v4).description == "2.0.89.10.in-addr.arpa.")
        #expect(ReverseName.address(from: name("2.0.89.10.IN-ADDR.ARPA")) == v4)
        let v6 = IPAddress.v6(try IPv6Address(parsing: "fd00::ab"))
        #expect(ReverseName.name(for: v6).description == "b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.")
        #expect(ReverseName.address(from: ReverseName.name(for: v6)) == v6)
        for bad in ["256.0.89.10.in-addr.arpa", "x.0.89.10.in-addr.arpa", "0.89.10.in-addr.arpa", "1.2.3.4.5.in-addr.arpa"] {
            #expect(ReverseName.address(from: name(bad)) == nil, "\(bad)")
        }
    }
}
