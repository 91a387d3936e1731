#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import BerthTestSupport
import Testing

/// Publications against the fake kernel: ports forwarded to an address another program
/// wired. Berth adds map elements and nothing else; keys are shared with endpoints; verify,
/// prune, gc and reconcile treat publications as they treat endpoints' ports.
@Suite("publication policy (fake kernel)")
struct PublicationPolicyTests {
    /// A host where "another program" made bridge extbr0 (10.66.0.1/24) and namespace ext1,
    /// plus a LAN address 192.0.2.1 on eth0. No Berth network unless a test makes one.
    private func wiredHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("eth0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "eth0")
        host.kernel.addLink("extbr0", kind: "bridge", up: true)
        try host.kernel.addAddress("10.66.0.1/24", to: "extbr0")
        host.kernel.addNamespace("ext1", loopbackUp: true)
        return host
    }

    @discardableResult
    private func publish(_ host: FakeHost, _ id: String, group: String = "ext", namespace: NamespaceReference = .name("ext1"),
                         address: String = "10.66.0.2", hostLink: String? = "extbr0", ports: [String]) throws(BerthError) -> PublicationRecord {
        try host.manager.publish(PublicationOptions(
            id: id, group: group, address: try IPv4Address(parsing: address), namespace: namespace,
            hostLink: try hostLink.map { text throws(BerthError) in try InterfaceName(text) },
            ports: try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }))
    }

    /// The two maps of Berth's table as nft prints them.
    private func maps(_ host: FakeHost) -> String {
        let ruleset = host.nftables.ruleset
        guard let start = ruleset.range(of: "\tmap publish_addr"), let end = ruleset.range(of: "\tchain guard") else { return ruleset }
        return String(ruleset[start.lowerBound..<end.lowerBound])
    }

    @Test("publish adds one element per port and Berth's table, touching no link, address or route; unpublish takes the elements back")
    func publishGolden() throws {
        let host = try wiredHost()
        let links = host.kernel.links().map(\.description), addresses = host.kernel.addresses(), routes = host.kernel.routes()
        let record = try publish(host, "pub1", ports: ["8080:80", "192.0.2.1:5353:53/udp"])
        #expect(record.ports.map(\.description) == ["tcp 0.0.0.0:8080->80", "udp 192.0.2.1:5353->53"])
        expectGolden(maps(host), """
        \tmap publish_addr {
        \t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { 192.0.2.1 . udp . 5353 comment "berth-endpoint pub1 @f4ce0001" : 10.66.0.2 . 53 }
        \t}

        \tmap publish_any {
        \t\ttype inet_proto . inet_service : ipv4_addr . inet_service
        \t\telements = { tcp . 8080 comment "berth-endpoint pub1 @f4ce0001" : 10.66.0.2 . 80 }
        \t}

        \tset publication_hairpin {
        \t\ttype ipv4_addr . ipv4_addr
        \t\telements = { 10.66.0.2 . 10.66.0.2 comment "berth-endpoint pub1 @f4ce0001" }
        \t}


        """)
        #expect(host.kernel.links().map(\.description) == links)
        #expect(host.kernel.addresses() == addresses && host.kernel.routes() == routes)
        // The wildcard port reaches 127.0.0.1 only with route_localnet on the bridge.
        #expect(host.kernel.sysctlWrites == ["host: net/ipv4/conf/extbr0/route_localnet=1"])
        #expect(try host.manager.publications(group: "ext").map(\.id) == ["pub1"])
        #expect(try host.manager.publication(id: "pub1") == record)

        try host.manager.unpublish(id: "pub1")
        #expect(!host.nftables.ruleset.contains("pub1"))
        #expect(try host.manager.publication(id: "pub1") == nil)
        // Unknown ids are fine: a retry after a crash is safe.
        try host.manager.unpublish(id: "pub1")
    }

    @Test("beside a Berth network, publish and unpublish leave the ruleset exactly as it was")
    func unpublishRestores() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["9090:90"])
        let before = host.nftables.ruleset
        try publish(host, "pub1", hostLink: nil, ports: ["192.0.2.1:8080:80"])
        #expect(host.nftables.ruleset != before)
        try host.manager.unpublish(id: "pub1")
        #expect(host.nftables.ruleset == before)
        #expect(host.kernel.sysctlWrites.allSatisfy { !$0.contains("extbr0") })
    }

    @Test("a key is held by an endpoint or a publication, never both: each side's refusal names the holder and changes nothing")
    func sharedKeys() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "owner", ports: ["8080:80"])
        let before = host.kernel.snapshot()
        let taken = refusal { try publish(host, "pub1", ports: ["8080:81"]) }
        expect(taken, .conflict, ["port tcp 0.0.0.0:8080", "already published by endpoint owner"], parameter: "ports",
               remedy: .chooseAnother(parameter: "ports"))
        #expect(taken?.operation == .publish)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.publications().isEmpty)

        try publish(host, "pub1", ports: ["192.0.2.1:9090:80"])
        host.kernel.addNamespace("ctr2")
        let held = refusal { try host.attach("ctr2", id: "e2", ports: ["9090:80"]) }
        expect(held, .conflict, ["port tcp 0.0.0.0:9090", "already published by publication pub1"], parameter: "ports")
        #expect(try host.recorded() == ["owner 10.88.0.2"])
    }

    @Test("127.0.0.1 as host address without a host link is refused (nothing could set route_localnet); the wildcard and other addresses are fine")
    func loopbackNeedsHostLink() throws {
        let host = try wiredHost()
        let before = host.kernel.snapshot()
        let error = refusal { try publish(host, "pub1", hostLink: nil, ports: ["8080:80", "127.0.0.1:5353:53/udp"]) }
        expect(error, .invalidArgument, ["published port 127.0.0.1:5353:53/udp: 127.0.0.1 cannot be published for a publication without a host link",
                                         "route_localnet"], parameter: "ports")
        #expect(error?.hint?.contains("host-side link") == true)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.publications().isEmpty)
        #expect(try publish(host, "pub1", hostLink: nil, ports: ["8080:80", "192.0.2.1:5353:53/udp"]).ports.count == 2)
        #expect(host.kernel.sysctlWrites.isEmpty)
        // With its host link, 127.0.0.1 works: route_localnet is set there.
        try publish(host, "pub2", ports: ["127.0.0.1:5353:53/udp"])
        #expect(host.kernel.sysctlWrites == ["host: net/ipv4/conf/extbr0/route_localnet=1"])
    }

    @Test("ids are unique across endpoints and publications")
    func sharedIDs() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1")
        expect(refusal { try publish(host, "e1", ports: ["8080:80"]) }, .alreadyExists, ["id e1 is already in use"], parameter: "id",
               remedy: .chooseAnother(parameter: "id"))
        try publish(host, "pub1", ports: ["8080:80"])
        let error = refusal { try host.attach("ctr2", id: "pub1") }
        expect(error, .alreadyExists, ["id pub1 is already in use by a publication"], parameter: "id", remedy: .chooseAnother(parameter: "id"))
        #expect(error?.object == .publication("pub1"))
    }

    @Test("a host process on the port refuses the publication, naming it")
    func hostListener() throws {
        let host = try wiredHost()
        try host.kernel.bind(.tcp, "0.0.0.0", 8080, owner: "process nginx (pid 42)")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80"]) }, .conflict, ["in use on the host by process nginx (pid 42)"],
               parameter: "ports")
        #expect(try host.manager.publications().isEmpty)
    }

    static let badRequests: [(String, @Sendable (inout PublicationOptions) throws -> Void, BerthError.Code, String, String)] = [
        ("empty group", { $0.group = "" }, .invalidArgument, "a publication needs a group name", "group"),
        ("wildcard address", { $0.address = .any }, .invalidArgument, "cannot publish ports to address 0.0.0.0", "address"),
        ("loopback address", { $0.address = IPv4Address(127, 0, 0, 1) }, .invalidArgument, "address 127.0.0.1", "address"),
        ("multicast address", { $0.address = IPv4Address(224, 0, 0, 1) }, .invalidArgument, "address 224.0.0.1", "address"),
        ("bad id", { $0.id = "a b" }, .invalidArgument, "invalid endpoint id", "id"),
        ("host namespace", { $0.namespace = .path("/proc/self/ns/net") }, .invalidArgument, "is the host's own network namespace", "namespace"),
        ("missing namespace", { $0.namespace = .name("nope") }, .notFound, "/run/netns/nope", "namespace"),
        ("missing host link", { $0.hostLink = try InterfaceName("nolink0") }, .notFound, "host link nolink0 does not exist", "hostLink"),
    ]

    @Test("bad requests are refused naming the field, and leave nothing: no record, no element", arguments: badRequests.indices)
    func badRequest(_ index: Int) throws {
        let (_, change, code, fragment, parameter) = Self.badRequests[index]
        let host = try wiredHost()
        var options = PublicationOptions(id: "pub1", group: "ext", address: IPv4Address(10, 66, 0, 2), namespace: .name("ext1"),
                                         hostLink: try InterfaceName("extbr0"), ports: [try PortSpec(parsing: "8080:80")])
        try change(&options)
        let error = refusal { try host.manager.publish(options) }
        expect(error, code, [fragment], parameter: parameter)
        #expect(error?.operation == .publish)
        #expect(try host.manager.publications().isEmpty)
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
    }

    @Test("a refused nftables batch records nothing; a failure after it takes the elements back")
    func rollback() throws {
        let host = try wiredHost()
        try host.network()
        let before = host.kernel.snapshot()
        host.nftables.nextApplyError = BerthError(.kernel, "nftables refused the batch")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80"]) }, .kernel, ["nftables refused the batch"])
        #expect(host.kernel.snapshot() == before)
        host.arm("publish.conntrack")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80", "5353:53/udp"]) }, .internalError, ["publish.conntrack"])
        host.disarm()
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.publications().isEmpty)
        #expect(try publish(host, "pub1", ports: ["8080:80"]).ports.count == 1)
    }

    @Test("a publish that fails after turning route_localnet on for its host link turns it off again; one that was on stays on",
          arguments: ["publish.conntrack", "state.commit"])
    func failedPublishRestoresLocalnet(_ step: String) throws {
        let host = try wiredHost()
        let key = "net/ipv4/conf/extbr0/route_localnet"
        host.arm(step)
        _ = refusal { try publish(host, "pub1", ports: ["8080:80"]) }
        host.disarm()
        #expect(try host.handle.sysctl(key) == "0")
        host.kernel.presetSysctl(key, "1")
        host.arm(step)
        _ = refusal { try publish(host, "pub1", ports: ["8081:80"]) }
        host.disarm()
        #expect(try host.handle.sysctl(key) == "1")
        // A publication that turned it on leaves it on when it goes, and gc then keeps
        // Berth's table, whose guard keeps the link's neighbours off the host's loopback.
        try publish(host, "pub2", ports: ["8082:80"])
        try host.manager.unpublish(id: "pub2")
        #expect(try host.handle.sysctl(key) == "1")
        _ = try host.manager.gc()
        #expect(host.nftables.ruleset.contains("table ip berth"))
        host.kernel.presetSysctl(key, "0")
        // Links made from now on would route to loopback too: the guard stays for them.
        host.kernel.presetSysctl("net/ipv4/conf/default/route_localnet", "1")
        _ = try host.manager.gc()
        #expect(host.nftables.ruleset.contains("table ip berth"))
        host.kernel.presetSysctl("net/ipv4/conf/default/route_localnet", "0")
        _ = try host.manager.gc()
        #expect(!host.nftables.ruleset.contains("table ip berth"))
    }

    @Test("route_localnet goes on only after the batch that makes Berth's table with its loopback guard; a publish stopped between them (its undo never sent, as when killed) leaves the guard and the link as it was, and gc the link so")
    func localnetAfterGuard() throws {
        let host = try wiredHost()
        let key = "net/ipv4/conf/extbr0/route_localnet"
        let guardRule = "iifname != \"lo\" ip daddr 127.0.0.0/8 drop"
        // What the host link had, and whether the guard was there, when the batch making
        // Berth's table went in (the second: the elements alone were refused for want of it).
        var atBatch: (localnet: String?, guarded: Bool)?
        host.nftables.beforeApplyDelay = 1
        host.nftables.beforeNextApply = { atBatch = (try? host.handle.sysctl(key), host.nftables.ruleset.contains(guardRule)) }
        try publish(host, "pub1", ports: ["8080:80"])
        #expect(atBatch?.localnet == "0" && atBatch?.guarded == false, "\(String(describing: atBatch))")
        #expect(host.nftables.ruleset.contains(guardRule))
        #expect(try host.handle.sysctl(key) == "1")
        #expect(host.kernel.sysctlWrites == ["host: \(key)=1"])

        // Stopped right after the batch, its undo (the third batch) refused: what a publish
        // killed there leaves.
        let stopped = try wiredHost()
        stopped.arm("publish.elements")
        stopped.nftables.nextApplyError = BerthError(.kernel, "refused by the test")
        stopped.nftables.applyErrorDelay = 2
        expect(refusal { try publish(stopped, "pub1", ports: ["8080:80"]) }, .internalError, ["publish.elements"])
        stopped.disarm()
        #expect(stopped.nftables.ruleset.contains("berth-endpoint pub1") && stopped.nftables.ruleset.contains(guardRule))
        #expect(try stopped.handle.sysctl(key) == "0")
        #expect(stopped.kernel.sysctlWrites.isEmpty)
        // Nothing records it: gc takes the elements and the table no one uses.
        let report = try stopped.manager.gc()
        #expect(report.firewallObjects.contains { $0.contains("berth-endpoint pub1") }, "\(report)")
        #expect(!stopped.nftables.ruleset.contains("table ip berth"))
        #expect(try stopped.handle.sysctl(key) == "0")
    }

    @Test("a final COMMIT that fails takes the publication's elements back; nothing is recorded")
    func failedCommitRollsBack() throws {
        let host = try wiredHost()
        try host.network()
        try publish(host, "kept", ports: ["9090:90"])
        let ruleset = host.nftables.ruleset
        host.arm("state.commit")
        expect(refusal { try publish(host, "pub1", ports: ["8080:80", "5353:53/udp"]) }, .internalError, ["state.commit"])
        host.disarm()
        #expect(host.nftables.ruleset == ruleset)
        #expect(try host.manager.publications().map(\.id) == ["kept"])
        #expect(try publish(host, "pub1", ports: ["8080:80"]).ports.count == 1)
    }

    @Test("datagram ports flush their conntrack flows on publish and unpublish; TCP-only publications skip the walk")
    func conntrack() throws {
        let host = try wiredHost()
        var mark = host.kernel.mark
        try publish(host, "tcp", ports: ["8080:80"])
        try host.manager.unpublish(id: "tcp")
        #expect(!host.kernel.operations(since: mark).contains { $0.contains("conntrack") })
        mark = host.kernel.mark
        try publish(host, "udp", ports: ["5353:53/udp"])
        try host.manager.unpublish(id: "udp")
        #expect(host.kernel.operations(since: mark).filter { $0.contains("conntrack") }
            == ["host: list conntrack entries", "host: list conntrack entries"])
    }

    @Test("verifyPublication names a missing element, a flushed table and a vanished namespace; unknown ids are not found")
    func verify() throws {
        let host = try wiredHost()
        try publish(host, "pub1", ports: ["8080:80"])
        #expect(try host.manager.verifyPublication(id: "pub1").isEmpty)

        var drop = Transaction()
        drop.delete(.element(Element([.proto(6), .port(8080)], [.ipv4(IPv4Address(10, 66, 0, 2)), .port(80)]), in: FirewallLayout.publishAny))
        try host.nftables.apply(drop)
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.description)
            == ["endpoint pub1: element tcp . 8080 comment \"berth-endpoint pub1 @f4ce0001\" : 10.66.0.2 . 80 of map publish_any: missing"])

        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try host.nftables.apply(flush)
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.object) == ["nftables table ip berth"])

        host.kernel.destroyNamespace(try host.namespace("ext1"))
        #expect(try host.manager.verifyPublication(id: "pub1").map(\.object).first == "network namespace /run/netns/ext1")

        let unknown = refusal { _ = try host.manager.verifyPublication(id: "nope") }
        expect(unknown, .notFound, ["no publication with id \"nope\""], parameter: "id")
        #expect(unknown?.operation == .check)
    }

    @Test("prunePublications removes a group's publications not kept, with their elements; other groups stay")
    func prune() throws {
        let host = try wiredHost()
        host.kernel.addNamespace("ext2")
        try publish(host, "a1", ports: ["8001:80"])
        try publish(host, "a2", namespace: .name("ext2"), address: "10.66.0.3", ports: ["8002:80"])
        try publish(host, "a3", ports: ["8003:80"])
        try publish(host, "b1", group: "other", ports: ["8004:80"])
        let report = try host.manager.prunePublications(group: "ext", keeping: ["a2"])
        #expect(report.endpoints == ["a1", "a3"] && report.firewallObjects.isEmpty)
        #expect(try host.manager.publications().map(\.id) == ["a2", "b1"])
        let ruleset = host.nftables.ruleset
        #expect(!ruleset.contains("berth-endpoint a1 @f4ce0001\"") && !ruleset.contains("berth-endpoint a3 @f4ce0001\""))
        #expect(ruleset.contains("berth-endpoint a2 @f4ce0001\"") && ruleset.contains("berth-endpoint b1 @f4ce0001\""))
        #expect(try host.manager.prunePublications(group: "absent", keeping: []).isEmpty)
    }

    @Test("gc drops publications whose namespace is gone, their elements with the table's one pass; live ones keep theirs")
    func gc() throws {
        let host = try wiredHost()
        host.kernel.addNamespace("ext2")
        try publish(host, "dead", ports: ["8081:80"])
        try publish(host, "live", namespace: .name("ext2"), address: "10.66.0.3", ports: ["8082:80"])
        host.kernel.destroyNamespace(try host.namespace("ext1"))
        host.nftables.resetCounts()
        let report = try host.manager.gc()
        #expect(report.endpoints == ["dead"])
        #expect(report.firewallObjects == ["element tcp . 8081 comment \"berth-endpoint dead @f4ce0001\" : 10.66.0.2 . 80 of map publish_any",
                                           "element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint dead @f4ce0001\" of set publication_hairpin"])
        // ip berth, and ip6 berth (absent here), where a crashed IPv6 publication leaves its elements.
        #expect(host.nftables.tableReads == 2 && host.nftables.rulesetReads == 0)
        #expect(try host.manager.publications().map(\.id) == ["live"])
        #expect(host.nftables.ruleset.contains("berth-endpoint live @f4ce0001"))
        // The freed key can be published again.
        host.kernel.addNamespace("ext3")
        #expect(try publish(host, "again", namespace: .name("ext3"), ports: ["8081:80"]).ports.count == 1)
    }

    @Test("reconcile puts a publication's elements back with the rest of Berth's table, and reports them missing")
    func reconcile() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["9090:90"])
        try publish(host, "pub1", ports: ["8080:80"])
        let before = host.nftables.ruleset
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try host.nftables.apply(flush)
        let missing = try host.manager.reconcile()
        #expect(missing.restored.map(\.object) == ["nftables table ip berth"] && missing.retagged.isEmpty && missing.remaining.isEmpty)
        #expect(host.nftables.ruleset == before)

        var drop = Transaction()
        drop.delete(.element(Element([.proto(6), .port(8080)], [.ipv4(IPv4Address(10, 66, 0, 2)), .port(80)]), in: FirewallLayout.publishAny))
        try host.nftables.apply(drop)
        #expect(try host.manager.reconcile().restored.map(\.description)
            == ["endpoint pub1: element tcp . 8080 comment \"berth-endpoint pub1 @f4ce0001\" : 10.66.0.2 . 80 of map publish_any: missing"])
        #expect(host.nftables.ruleset == before)
    }
    @Test("gc keeps a publication whose namespace cannot be opened (EACCES) and says why; check says it could not be checked")
    func gcKeepsUncheckablePublication() throws {
        let host = try wiredHost()
        try publish(host, "p1", ports: ["9090:90"])
        host.kernel.failOpening("/run/netns/ext1", errno: EACCES)
        let report = try host.manager.gc()
        #expect(report.isEmpty, "\(report)")
        #expect(report.unchecked.count == 1)
        #expect(report.unchecked.first?.description.hasPrefix("could not check namespace /run/netns/ext1 of publication p1: ") == true, "\(report.unchecked)")
        #expect(report.unchecked.map(\.owner) == [.publication] && report.unchecked.map(\.code) == [.permissionDenied], "\(report.unchecked)")
        #expect(try host.manager.publications().map(\.id) == ["p1"])
        #expect(maps(host).contains("berth-endpoint p1"))
        #expect(try host.manager.check().map(\.repair) == [.recheckWithPrivilege])
        #expect(try host.manager.verifyPublication(id: "p1").map(\.repair) == [.recheckWithPrivilege])
    }
    @Test("publishing to a per-process namespace path (an anonymous namespace's /proc/PID/fd/N) is refused: gc would find it gone")
    func perProcessNamespacePathRefused() throws {
        let host = try wiredHost()
        let ext = try host.kernel.openNamespace(.name("ext1"))
        host.kernel.addPath("/proc/123/fd/7", to: ext)
        let before = host.kernel.snapshot()
        let error = refusal { try publish(host, "p1", namespace: .path("/proc/123/fd/7"), ports: ["9090:90"]) }
        expect(error, .invalidArgument, ["namespace path /proc/123/fd/7 is a file descriptor of process 123"], parameter: "namespace",
               remedy: .chooseAnother(parameter: "namespace"))
        #expect(error?.operation == .publish)
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.publications().isEmpty)
    }

    @Test("publishing to the machine's initial namespace (/proc/1/ns/net) is refused, as to the host's own")
    func initialNamespaceRefused() throws {
        let host = try wiredHost()
        host.kernel.addNamespace("init", pid: 1, loopbackUp: true)
        let before = host.kernel.snapshot()
        let error = refusal { try publish(host, "p1", namespace: .pid(1), ports: ["9090:90"]) }
        expect(error, .invalidArgument, ["pid 1 is the machine's initial network namespace"], parameter: "namespace")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.publications().isEmpty)
    }
}
