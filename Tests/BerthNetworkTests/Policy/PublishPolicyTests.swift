import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import BerthTestSupport
import Testing

/// Port publishing against the fake kernel: the map elements (nft text), conflicts with
/// endpoints and host sockets, port choice, conntrack cleanup, and all-or-nothing.
@Suite("publishing policy (fake kernel)")
struct PublishPolicyTests {
    /// Network web (10.88.0.0/24) and a LAN address 192.0.2.1 on eth0.
    private func webHost(isInternal: Bool = false) throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("eth0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "eth0")
        try host.network(isInternal: isInternal)
        return host
    }

    /// The two maps of Berth's table as nft prints them (elements included).
    private func maps(_ host: FakeHost) -> String {
        let ruleset = host.nftables.ruleset
        guard let start = ruleset.range(of: "\tmap publish_addr"), let end = ruleset.range(of: "\tset publication_hairpin") else { return ruleset }
        return String(ruleset[start.lowerBound..<end.lowerBound])
    }

    @Test("each published port is one map element tagged with its endpoint; detach restores the ruleset exactly")
    func elementsGolden() throws {
        let host = try webHost()
        let before = host.nftables.ruleset
        try host.attach("ctr1", id: "e1", ports: ["8080:80", "127.0.0.1:5353:53/udp", "192.0.2.1:9090:90", "7000-7001:70-71/sctp"])
        expectGolden(maps(host), """
        \tmap publish_addr {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { 192.0.2.1 . tcp . 9090 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 90,
        \t\t\t     127.0.0.1 . udp . 5353 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 53 }
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { sctp . 7000 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 70,
        \t\t\t     sctp . 7001 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 71,
        \t\t\t     tcp . 8080 comment "berth-endpoint e1 @f4ce0001" : 10.88.0.2 . 80 }
        \t}


        """)
        #expect(try host.manager.endpoint("e1").ports.map(\.dockerDescription) == [
            "0.0.0.0:7000->70/sctp", "0.0.0.0:7001->71/sctp", "0.0.0.0:8080->80/tcp", "192.0.2.1:9090->90/tcp", "127.0.0.1:5353->53/udp",
        ])
        try host.manager.detach(id: "e1")
        #expect(host.nftables.ruleset == before)
    }

    @Test("a key another endpoint publishes is refused naming it; the same port of another protocol is fine")
    func keyHeldByEndpoint() throws {
        let host = try webHost()
        try host.attach("owner", id: "owner", ports: ["8080:80"])
        host.kernel.addNamespace("ctr")
        let before = host.kernel.snapshot()
        let error = refusal { try host.attach("ctr", id: "bad", ports: ["8080:81"]) }
        expect(error, .conflict, ["port tcp 0.0.0.0:8080", "already published by endpoint owner"], parameter: "ports",
               remedy: .chooseAnother(parameter: "ports"))
        #expect(error?.object == .port("tcp 0.0.0.0:8080"))
        #expect(host.kernel.snapshot() == before)
        #expect(try host.attach("ctr", id: "other", ports: ["8080:80/udp"]).ports.count == 1)
    }

    @Test("a wildcard and a specific address on the same port clash, in either order; two specific addresses do not")
    func wildcardVersusAddress() throws {
        let host = try webHost()
        try host.attach("a", id: "wild", ports: ["8080:80"])
        expect(refusal { try host.attach("b", id: "b", ports: ["192.0.2.1:8080:80"]) }, .conflict, ["tcp 192.0.2.1:8080", "endpoint wild"])
        try host.attach("c", id: "specific", ports: ["192.0.2.1:9090:80"])
        expect(refusal { try host.attach("d", id: "d", ports: ["9090:80"]) }, .conflict, ["tcp 0.0.0.0:9090", "endpoint specific"])
        #expect(try host.attach("e", id: "loop", ports: ["127.0.0.1:9090:80"]).ports.count == 1)
    }

    @Test("the same key twice in one request is refused naming both specs; so is a wildcard beside a specific address, naming the wildcard key")
    func listedTwice() throws {
        let host = try webHost()
        let twice = refusal { try host.attach("a", id: "a", ports: ["7000:80", "7000:81"]) }
        #expect(twice?.message == "port tcp 0.0.0.0:7000 of published port 7000:81/tcp is also asked for by published port 7000:80/tcp of the same request")
        expect(twice, .conflict, [], parameter: "ports", remedy: .chooseAnother(parameter: "ports"))
        #expect(twice?.hint?.contains("detach") == false)
        let wildcard = refusal { try host.attach("a", id: "a", ports: ["7000:80", "192.0.2.1:7000:81"]) }
        #expect(wildcard?.message == "port tcp 192.0.2.1:7000 of published port 192.0.2.1:7000:81/tcp clashes with port tcp 0.0.0.0:7000 of published port 7000:80/tcp of the same request (a wildcard address takes the port on every address of its family)")
        #expect(try host.recorded().isEmpty)
    }

    @Test("an exact duplicate (-p 8080:80 -p 8080:80, however written) is one mapping, as Docker takes it; a spec that chooses its host port asks again")
    func exactDuplicateMerged() throws {
        let host = try webHost()
        let merged = try host.attach("a", id: "a", ports: ["8080:80", "8080:80/tcp", "9000-9001:90-91", "9000-9001:90-91"]).ports
        #expect(merged.map { "\($0.hostPort)->\($0.containerPort)" } == ["8080->80", "9000->90", "9001->91"])
        #expect(try host.recorded().count == 1)
        let chosen = try host.attach("b", id: "b", ports: ["80", "80"]).ports
        #expect(chosen.count == 2 && chosen[0].hostPort != chosen[1].hostPort, "\(chosen)")
        // Still refused: the same host port for another container port.
        expect(refusal { try host.attach("c", id: "c", ports: ["7000:80", "7000:81"]) }, .conflict, ["is also asked for"])
    }

    @Test("fixed host ports are claimed before ranges and ephemeral choices, whatever the spec order; the mappings stay in spec order")
    func fixedBeforeChosen() throws {
        let host = try webHost()
        let ranged = try host.attach("a", id: "a", ports: ["8000-8010:80", "8000:81"]).ports
        #expect(ranged.map { "\($0.hostPort)->\($0.containerPort)" } == ["8001->80", "8000->81"])
        // Three ephemeral ports: the fixed one, then the range's first free one, are taken
        // before `90` chooses, so it gets the one left.
        host.kernel.presetSysctl("net/ipv4/ip_local_port_range", "41000 41002")
        let ephemeral = try host.attach("b", id: "b", ports: ["90", "41000:91", "41000-41002:92"]).ports
        #expect(ephemeral.map { "\($0.hostPort)->\($0.containerPort)" } == ["41002->90", "41000->91", "41001->92"])
    }

    @Test("a range is checked against recorded ports with one read: a clash on any port of it names that port and its holder")
    func rangeClashes() throws {
        let host = try webHost()
        try host.attach("a", id: "a", ports: ["192.0.2.1:7005:80"])
        expect(refusal { try host.attach("b", id: "b", ports: ["7000-7009:8000-8009"]) }, .conflict, ["tcp 0.0.0.0:7005", "endpoint a"])
        expect(refusal { try host.attach("c", id: "c", ports: ["7100-7104:80-84", "7104:85"]) }, .conflict,
               ["tcp 0.0.0.0:7104", "also asked for by published port 7100-7104:80-84/tcp of the same request"])
        #expect(try host.attach("d", id: "d", ports: ["7100-7104:80-84/udp", "7100-7104:80-84", "7006-7009:86-89"]).ports.count == 14)
        expect(refusal { try host.attach("e", id: "e", ports: ["192.0.2.1:7009-7010:90-91"]) }, .conflict, ["tcp 192.0.2.1:7009", "endpoint d"])
    }

    @Test("a port a host process listens on is refused naming the process; its other protocol and other addresses are free")
    func hostListener() throws {
        let host = try webHost()
        try host.kernel.bind(.tcp, "0.0.0.0", 8080, owner: "process nginx (pid 42)")
        try host.kernel.bind(.udp, "127.0.0.1", 5353, owner: "process dnsmasq (pid 43)")
        host.kernel.addNamespace("a")
        let before = host.kernel.snapshot()
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80"]) }, .conflict,
               ["port tcp 0.0.0.0:8080", "in use on the host by process nginx (pid 42)"], parameter: "ports")
        expect(refusal { try host.attach("a", id: "a", ports: ["192.0.2.1:8080:80"]) }, .conflict, ["nginx"])
        expect(refusal { try host.attach("a", id: "a", ports: ["5353:53/udp"]) }, .conflict, ["udp 0.0.0.0:5353", "dnsmasq"])
        expect(refusal { try host.attach("a", id: "a", ports: ["127.0.0.1:5353:53/udp"]) }, .conflict, ["dnsmasq"])
        #expect(host.kernel.snapshot() == before)
        #expect(try host.attach("a", id: "ok", ports: ["5353:53", "192.0.2.1:5353:53/udp"]).ports.count == 2)
    }

    @Test("a host process binding a published port afterwards is shadowed: check names it, the key and the endpoint; other ports and protocols are quiet")
    func shadowedListener() throws {
        let host = try webHost()
        try host.attach("a", id: "a", ports: ["8080:80", "127.0.0.1:5353:53/udp"])
        #expect(try host.manager.check().isEmpty)
        try host.kernel.bind(.tcp, "0.0.0.0", 8081, owner: "other (pid 6)")
        try host.kernel.bind(.udp, "0.0.0.0", 8080, owner: "other (pid 6)")
        #expect(try host.manager.check().isEmpty)
        try host.kernel.bind(.tcp, "192.0.2.1", 8080, owner: "nginx (pid 7)")
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == [
            "endpoint a: port tcp 0.0.0.0:8080: also bound on the host by nginx (pid 7), whose socket gets none of its traffic (the container's DNAT comes first)",
        ])
        #expect(problems.map(\.repair) == [.stopHostListener])
    }

    @Test("an IPv6 wildcard listener holds the port for IPv4 too; an owner the process table does not know is named by inode")
    func ipv6WildcardListener() throws {
        let host = try webHost()
        let inode = try host.kernel.bind(.tcp, "::", 8443)
        expect(refusal { try host.attach("a", id: "a", ports: ["8443:443"]) }, .conflict, ["a process (socket inode \(inode))"])
    }

    @Test("the host's sockets are read once per attach and protocol, however many ports it publishes")
    func listenersReadOnce() throws {
        let host = try webHost()
        let mark = host.kernel.mark
        try host.attach("a", id: "a", ports: ["8080:80", "8081:81", "8082:82", "53:53/udp", "8083:83"])
        let reads = host.kernel.operations(since: mark).filter { $0.contains("sockets (") }
        #expect(reads == ["host: list tcp sockets (ipv4)", "host: list tcp sockets (ipv6)", "host: list udp sockets (ipv4)", "host: list udp sockets (ipv6)"])
    }

    @Test("an attach publishing only TCP ports never lists UDP sockets (that dump walks the whole UDP table)")
    func tcpOnlySkipsUDPListing() throws {
        let host = try webHost()
        let mark = host.kernel.mark
        try host.attach("a", id: "a", ports: ["8080:80", "9000-9009:9000-9009"])
        let reads = host.kernel.operations(since: mark).filter { $0.contains("sockets (") }
        #expect(reads == ["host: list tcp sockets (ipv4)", "host: list tcp sockets (ipv6)"])
    }

    @Test("SCTP ports skip the socket listing (sock_diag has no SCTP here)")
    func sctpSkipsListeners() throws {
        let host = try webHost()
        let mark = host.kernel.mark
        try host.attach("a", id: "a", ports: ["7000:70/sctp"])
        #expect(!host.kernel.operations(since: mark).contains { $0.contains("sockets") })
    }

    static let badAddresses: [(String, [String])] = [
        ("[::1]:8080:80", ["[::1] cannot reach an IPv4-only container"]),
        ("[2001:db8::1]:8080:80", ["IPv6 host address 2001:db8::1"]),
        ("198.51.100.7:8080:80", ["host address 198.51.100.7", "is not an address of this host"]),
    ]

    @Test("host addresses Berth cannot publish on are refused with a reason; the whole request fails", arguments: badAddresses.indices)
    func badHostAddress(_ index: Int) throws {
        let (spec, fragments) = Self.badAddresses[index]
        let host = try webHost()
        host.kernel.addNamespace("a")
        let before = host.kernel.snapshot()
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80", spec]) }, .invalidArgument, fragments, parameter: "ports")
        #expect(host.kernel.snapshot() == before)
    }

    @Test("a refused host address's hint suggests the same protocol: [::1]:5353:53/udp on an IPv4-only network suggests 127.0.0.1:5353:53/udp")
    func hintKeepsProtocol() throws {
        let host = try webHost()
        host.kernel.addNamespace("a")
        for (spec, suggested) in [("[::1]:5353:53/udp", "127.0.0.1:5353:53/udp"), ("[::1]:7000:70/sctp", "127.0.0.1:7000:70/sctp"),
                                  ("[::1]:8080:80", "127.0.0.1:8080:80"), ("[::1]:8080:80/tcp", "127.0.0.1:8080:80")] {
            let error = refusal { try host.attach("a", id: "a", ports: [spec]) }
            expect(error, .invalidArgument, ["[::1] cannot reach an IPv4-only container"], parameter: "ports")
            #expect(error?.hint == "publish on 127.0.0.1 instead, as in \(suggested)", "\(spec): \(String(describing: error?.hint))")
        }
    }

    @Test("an internal network publishes nothing")
    func internalNetwork() throws {
        let host = try webHost(isInternal: true)
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80"]) }, .invalidArgument, ["network web is internal"], parameter: "ports")
        #expect(try host.attach("a", id: "plain").ports.isEmpty)
        // Its forward rules keep traffic on the bridge.
        #expect(host.nftables.ruleset.contains("iifname \"brweb\" oifname != \"brweb\" drop comment \"berth-network web @f4ce0001\""))
    }

    @Test("a key only the kernel holds (a stray element) refuses the whole batch: no element, no veth, no record")
    func kernelRefusalIsAtomic() throws {
        let host = try webHost()
        var stray = Transaction()
        stray.add(.element(Element([.proto(6), .port(8102)], [.ipv4(IPv4Address(10, 88, 0, 99)), .port(80)]), in: FirewallLayout.publishAny))
        try host.nftables.apply(stray)
        host.kernel.addNamespace("batch", loopbackUp: true)
        let before = host.kernel.snapshot()
        let error = refusal { try host.attach("batch", id: "batch", ports: ["8100:80", "8101:80", "8102:80", "8103:80/udp"]) }
        expect(error, .conflict, ["a published port of endpoint batch is already in Berth's nftables maps"], parameter: "ports", remedy: .collectGarbage)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.recorded().isEmpty)
        var clean = Transaction()
        clean.delete(.element(Element([.proto(6), .port(8102)], [.ipv4(IPv4Address(10, 88, 0, 99)), .port(80)]), in: FirewallLayout.publishAny))
        try host.nftables.apply(clean)
        let endpoint = try host.attach("batch", id: "batch", ports: ["8100:80", "8101:80", "8102:80", "8103:80/udp"])
        #expect(endpoint.address?.description == "10.88.0.2")
        #expect(maps(host).components(separatedBy: "berth-endpoint batch").count == 5)
    }

    @Test("any other nftables failure also takes back the veth and the lease")
    func nftablesFailureRollsBack() throws {
        let host = try webHost()
        host.kernel.addNamespace("a", loopbackUp: true)
        let before = host.kernel.snapshot()
        host.nftables.nextApplyError = BerthError(.kernel, "nftables refused the batch")
        expect(refusal { try host.attach("a", id: "a", ports: ["8080:80"]) }, .kernel, ["nftables refused the batch"])
        #expect(host.kernel.snapshot() == before)
        #expect(try host.recorded().isEmpty)
    }

    @Test("-p 80 takes a host port from the ephemeral range; a full range is refused naming it")
    func ephemeralRange() throws {
        let host = try webHost()
        host.kernel.presetSysctl("net/ipv4/ip_local_port_range", "41000\t41001")
        try host.kernel.bind(.tcp, "0.0.0.0", 41000, owner: "process x (pid 1)")
        #expect(try host.attach("a", id: "a", ports: ["80"]).ports.map(\.hostPort) == [41001])
        let error = refusal { try host.attach("b", id: "b", ports: ["80"]) }
        expect(error, .conflict, ["no free host port for published port 80/tcp in 41000-41001"], parameter: "ports")
    }

    @Test("-p 9000-9002 (no host port) publishes every container port, each on a free ephemeral port of its own, as Docker does")
    func containerRangeWithoutHostPorts() throws {
        let host = try webHost()
        host.kernel.presetSysctl("net/ipv4/ip_local_port_range", "41000 41003")
        try host.kernel.bind(.tcp, "0.0.0.0", 41001, owner: "process x (pid 1)")
        let ports = try host.attach("a", id: "a", ports: ["9000-9002"]).ports
        #expect(ports.map(\.containerPort) == [9000, 9001, 9002])
        #expect(Set(ports.map(\.hostPort)) == [41000, 41002, 41003])
        // On one address too, and the ports taken are held for the next endpoint: one left.
        let udp = try host.attach("b", id: "b", ports: ["127.0.0.1::53-54/udp"]).ports
        #expect(udp.map(\.containerPort) == [53, 54] && Set(udp.map(\.hostPort)).count == 2)
        expect(refusal { try host.attach("c", id: "c", ports: ["80-81"]) }, .conflict,
               ["no free host port for published port 80-81/tcp in 41000-41003"], parameter: "ports")
        #expect(try host.recorded().count == 2)
    }

    @Test("a host port range takes the first port no endpoint and no process holds; one-to-one ranges expand")
    func portRanges() throws {
        let host = try webHost()
        try host.kernel.bind(.tcp, "0.0.0.0", 8000)
        try host.attach("a", id: "a", ports: ["8001:80"])
        #expect(try host.attach("b", id: "b", ports: ["8000-8002:80"]).ports.map(\.hostPort) == [8002])
        let pair = try host.attach("c", id: "c", ports: ["9000-9001:90-91"])
        #expect(pair.ports.map { "\($0.hostPort)->\($0.containerPort)" } == ["9000->90", "9001->91"])
    }

    @Test("specs without a host port publishing one container port on several addresses get one host port, free on all of them")
    func sharedChoice() throws {
        let host = try webHost()
        host.kernel.presetSysctl("net/ipv4/ip_local_port_range", "41000 41002")
        try host.kernel.bind(.tcp, "127.0.0.1", 41000, owner: "process x (pid 1)")
        try host.kernel.bind(.tcp, "192.0.2.1", 41001, owner: "process y (pid 2)")
        let ports = try host.attach("a", id: "a", ports: ["127.0.0.1::80", "192.0.2.1::80"]).ports
        #expect(ports.map(\.description) == ["tcp 127.0.0.1:41002->80", "tcp 192.0.2.1:41002->80"])
        // Each spec's mappings stay in its own container-port order, though the second's 54
        // was chosen with the first spec.
        try host.manager.detach(id: "a")
        let udp = try host.attach("b", id: "b", ports: ["192.0.2.1::54/udp", "127.0.0.1::53-54/udp"]).ports
        #expect(udp.map(\.containerPort) == [54, 53, 54])
        #expect(udp[0].hostPort == udp[2].hostPort && udp[1].hostPort != udp[2].hostPort)
        // Specs whose addresses clash (the same one twice) keep a port each, as before.
        let twice = try host.attach("c", id: "c", ports: ["127.0.0.1::90", "127.0.0.1::90"]).ports
        #expect(twice.count == 2 && twice[0].hostPort != twice[1].hostPort)
    }

    @Test("no port free on every address of specs sharing a container port is refused, naming them all")
    func sharedChoiceFull() throws {
        let host = try webHost()
        host.kernel.presetSysctl("net/ipv4/ip_local_port_range", "41000 41001")
        try host.kernel.bind(.tcp, "127.0.0.1", 41000, owner: "process x (pid 1)")
        try host.kernel.bind(.tcp, "192.0.2.1", 41001, owner: "process y (pid 2)")
        expect(refusal { try host.attach("a", id: "a", ports: ["127.0.0.1::80", "192.0.2.1::80"]) }, .conflict,
               ["no free host port for published port 127.0.0.1::80/tcp in 41000-41001 (one port free on every address of 127.0.0.1::80/tcp, 192.0.2.1::80/tcp)"],
               parameter: "ports")
        #expect(try host.recorded().isEmpty)
    }

    @Test("datagram ports get their stale conntrack flows removed on attach and detach; TCP-only endpoints skip the table walk")
    func conntrackCleanup() throws {
        let host = try webHost()
        var mark = host.kernel.mark
        try host.attach("t", id: "t", ports: ["8080:80"])
        try host.manager.detach(id: "t")
        #expect(!host.kernel.operations(since: mark).contains { $0.contains("conntrack") })
        mark = host.kernel.mark
        try host.attach("u", id: "u", ports: ["5353:53/udp"])
        // One dump of the table for every datagram port of the request.
        #expect(host.kernel.operations(since: mark).filter { $0.contains("conntrack") } == ["host: list conntrack entries"])
        mark = host.kernel.mark
        try host.manager.detach(id: "u")
        #expect(host.kernel.operations(since: mark).filter { $0.contains("conntrack") } == ["host: list conntrack entries"])
        // A publish on one IPv4 address needs only the IPv4 table.
        mark = host.kernel.mark
        try host.attach("v", id: "v", ports: ["127.0.0.1:5353:53/udp"])
        #expect(host.kernel.operations(since: mark).filter { $0.contains("conntrack") } == ["host: list ipv4 conntrack entries"])
    }
}
