import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Foundation
import Testing

/// Names, aliases, the DNS flag and the resolver's lifecycle against the fake kernel,
/// whose resolver processes are played (`FakeResolverProcesses`).
@Suite("DNS names and resolver lifecycle policy (fake kernel)")
struct DNSPolicyTests {
    private func named(_ host: FakeHost, _ namespace: String, id: String, name: String?, aliases: [String] = [],
                       network: String = "web") throws(BerthError) -> EndpointRecord {
        if host.kernel.state(named: namespace) == nil { host.kernel.addNamespace(namespace) }
        return try host.manager.attach(AttachOptions(network: network, namespace: .name(namespace), id: id, name: name, aliases: aliases))
    }

    @Test("DNS is on for a new network, off for the default one and with dns: false; upstreams are checked")
    func dnsFlag() throws {
        let host = try FakeHost()
        #expect(try host.network("web").dns)
        let off = try host.manager.createNetwork(NetworkOptions(name: "off", subnet: try CIDR(parsing: "10.90.0.0/24"), dns: false))
        #expect(!off.dns)
        let dflt = try host.manager.createNetwork(NetworkOptions(name: "berth", subnet: try CIDR(parsing: "10.91.0.0/24")))
        #expect(!dflt.dns)
        let up = try host.manager.createNetwork(NetworkOptions(name: "up", subnet: try CIDR(parsing: "10.92.0.0/24"),
                                                               dnsUpstreams: ["192.0.2.53", "192.0.2.54:5353", "[2001:db8::53]:53"]))
        #expect(try host.manager.network(named: "up").dnsUpstreams == up.dnsUpstreams)
        let bad = refusal { _ = try host.manager.createNetwork(NetworkOptions(name: "bad", subnet: try CIDR(parsing: "10.93.0.0/24"), dnsUpstreams: ["dns.example"])) }
        expect(bad, .invalidArgument, ["dns.example"], parameter: "dnsUpstream")
        #expect(try host.manager.networks().map(\.name).contains("bad") == false)
        // berth-dns drops an unspecified upstream (no server answers there): refused at create.
        for unspecified in ["0.0.0.0", "[::]:53"] {
            let nowhere = refusal {
                _ = try host.manager.createNetwork(NetworkOptions(name: "nowhere", subnet: try CIDR(parsing: "10.95.0.0/24"), dnsUpstreams: [unspecified]))
            }
            expect(nowhere, .invalidArgument, [unspecified, "unspecified"], parameter: "dnsUpstream")
        }
        #expect(try host.manager.networks().map(\.name).contains("nowhere") == false)
        let four = refusal {
            _ = try host.manager.createNetwork(NetworkOptions(name: "four", subnet: try CIDR(parsing: "10.94.0.0/24"),
                                                              dnsUpstreams: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]))
        }
        expect(four, .invalidArgument, ["4 DNS upstreams", "at most 3"], parameter: "dnsUpstream")
        #expect(try host.manager.networks().map(\.name).contains("four") == false)
    }

    @Test("names: invalid ones, a duplicate (any case), an alias equal to another's name and a name equal to another's alias are refused naming the holder; nothing is recorded")
    func nameRefusals() throws {
        let host = try FakeHost()
        try host.network()
        let web = try named(host, "c1", id: "e1", name: "web", aliases: ["www", "lb"])
        #expect(web.name == "web" && web.aliases == ["www", "lb"])
        #expect(try host.manager.endpoint("e1").aliases == ["www", "lb"])

        expect(refusal { _ = try named(host, "c2", id: "e2", name: "-web") }, .invalidArgument, ["-web", "not a valid DNS name"], parameter: "name")
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "ok", aliases: ["a..b"]) }, .invalidArgument, ["a..b"], parameter: "alias")
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "WEB") }, .conflict, ["web", "endpoint e1"], parameter: "name",
               remedy: .chooseAnother(parameter: "name"))
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "db", aliases: ["web"]) }, .conflict, ["web", "endpoint e1"], parameter: "alias")
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "www") }, .conflict, ["www", "alias of endpoint e1"], parameter: "name")
        #expect(try host.recorded() == ["e1 10.88.0.2"], "nothing changed on refusal")
        #expect(host.kernel.link("eth0", in: try host.namespace("c2")) == nil)

        // A shared alias is fine (round robin), and the same name on another network too.
        _ = try named(host, "c2", id: "e2", name: "web2", aliases: ["lb"])
        try host.network("other", subnet: "10.89.0.0/24")
        _ = try named(host, "c3", id: "e3", name: "web", network: "other")
        #expect(try host.recorded().count == 3)
        // Detached, the name is free again.
        try host.manager.detach(id: "e1")
        _ = try named(host, "c4", id: "e4", name: "web")
    }

    @Test("on a network with DNS off, an alias that is no DNS name (podman sends the container's to every network) is left out, not refused; valid ones are kept")
    func aliasesWithoutDNS() throws {
        let host = try FakeHost()
        _ = try host.manager.createNetwork(NetworkOptions(name: "off", subnet: try CIDR(parsing: "10.90.0.0/24"), dns: false))
        let record = try named(host, "c1", id: "e1", name: "web", aliases: ["ok", "trailing-", "a..b"], network: "off")
        #expect(record.aliases == ["ok"])
        #expect(try host.manager.endpoint("e1").aliases == ["ok"])
        // The name is still checked: the CLI's --name is taken there, and must be one.
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "-web", network: "off") }, .invalidArgument, ["-web"], parameter: "name")
    }

    @Test("names clash in every form the resolver answers (db and db.web on network web); a name under another DNS network's domain is refused naming it")
    func qualifiedNameRefusals() throws {
        let host = try FakeHost()
        try host.network()
        _ = try named(host, "c1", id: "e1", name: "db", aliases: ["www"])
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "x", aliases: ["DB.web"]) }, .conflict,
               ["alias db.web", "name of endpoint e1", "answered as db.web"], parameter: "alias", remedy: .chooseAnother(parameter: "alias"))
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "db.web") }, .conflict,
               ["name db.web", "already held by endpoint e1", "answered as db.web"], parameter: "name")
        expect(refusal { _ = try named(host, "c2", id: "e2", name: "www.web") }, .conflict, ["www.web", "alias of endpoint e1"], parameter: "name")
        // Another network with DNS on: its domain is its own; one with DNS off has none.
        try host.network("back", subnet: "10.89.0.0/24")
        _ = try host.manager.createNetwork(NetworkOptions(name: "off", subnet: try CIDR(parsing: "10.90.0.0/24"), dns: false))
        let foreign = refusal { _ = try named(host, "c2", id: "e2", name: "x", aliases: ["cache.BACK"]) }
        expect(foreign, .conflict, ["alias cache.back", "ends in .back", "network back"], parameter: "alias", remedy: .chooseAnother(parameter: "alias"))
        #expect(foreign?.object == .network("back"))
        #expect(try host.recorded() == ["e1 10.88.0.2"], "nothing changed on refusal")
        // A dotted name under no other network's domain (a podman container called api.web) is fine.
        _ = try named(host, "c2", id: "e2", name: "api.web", aliases: ["x.off"])
        #expect(try host.recorded().count == 2)
    }

    @Test("check reports the gateway addresses the running resolver says it cannot listen on, and nothing once it can")
    func unboundAddressesChecked() throws {
        let host = try FakeHost()
        try host.network()
        _ = try named(host, "c1", id: "e1", name: "web")
        #expect(try host.manager.check().isEmpty)
        let report = host.stateDirectory + "/" + ResolverLaunch.unboundReportName
        #expect(FileManager.default.createFile(atPath: report, contents: Data("10.88.0.1 web\n".utf8)))
        let problems = try host.manager.check()
        #expect(problems.map(\.description) == ["network web: resolver address 10.88.0.1 port 53: the resolver cannot listen there "
                                                + "(another process holds the port, or the address cannot be bound): the network's lookups go unanswered; it tries again by itself"])
        #expect(problems.map(\.repair) == [.freeResolverAddress])
        // A file a resolver that is gone left behind says nothing (check reports it stale).
        let resolver = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() })
        host.kernel.killResolver(resolver.pid)
        #expect(try host.manager.check().map(\.object) == ["resolver \(resolver)"])
        unlink(report)
    }

    @Test("the first attach to a DNS network starts the resolver; later ones and named detaches reload it; a network without DNS never touches it")
    func lifecycle() throws {
        let host = try FakeHost()
        try host.network()
        _ = try host.manager.createNetwork(NetworkOptions(name: "berth", subnet: try CIDR(parsing: "10.91.0.0/24")))
        _ = try named(host, "p1", id: "p1", name: "plain", network: "berth")
        #expect(host.kernel.resolvers.launches.isEmpty && host.kernel.resolvers.signals.isEmpty, "the default network's attach is as before")
        try host.manager.detach(id: "p1")
        #expect(host.kernel.resolvers.signals.isEmpty)

        _ = try named(host, "c1", id: "e1", name: "web")
        let launch = try #require(host.kernel.resolvers.launches.first)
        #expect(launch.stateDirectory == host.stateDirectory && launch.executable.hasSuffix("/berth-dns") && launch.logPath.hasSuffix("/berth-dns.log"))
        let resolver = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() })
        #expect(host.kernel.resolvers.signals == ["1 \(resolver.pid)"], "reloaded after the commit")
        _ = try named(host, "c2", id: "e2", name: nil)
        try host.manager.detach(id: "e1")
        #expect(host.kernel.resolvers.launches.count == 1)
        #expect(host.kernel.resolvers.signals == ["1 \(resolver.pid)", "1 \(resolver.pid)", "1 \(resolver.pid)"])
        try host.manager.detach(id: "e2")
        #expect(host.kernel.resolvers.signals.count == 3, "an endpoint without names changes nothing the resolver serves")

        // Killed: check reports it, the next attach starts another.
        _ = try named(host, "c3", id: "e3", name: "db")
        host.kernel.killResolver(resolver.pid)
        #expect(try host.manager.resolverStatus() == .stale(resolver))
        #expect(try host.manager.check().map(\.object).contains("resolver \(resolver)"))
        _ = try named(host, "c4", id: "e4", name: "cache")
        let second = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() })
        #expect(second != resolver && host.kernel.resolvers.launches.count == 2)

        // Killed again: reconcile brings it back.
        host.kernel.killResolver(second.pid)
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.object) == ["resolver \(second)"])
        #expect(host.kernel.resolvers.launches.count == 3)
        #expect(try host.manager.check().isEmpty)

        // gc stops it only once no network has DNS on.
        #expect(try host.manager.gc().resolver == nil)
        try host.manager.detach(id: "e3")
        try host.manager.detach(id: "e4")
        try host.manager.removeNetwork(named: "web")
        let third = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() })
        #expect(try host.manager.gc().resolver == third.description)
        #expect(!host.kernel.isRunning(third))
        #expect(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() } == nil)
        #expect(try host.manager.resolverStatus() == .notNeeded)
    }

    @Test("reconcile drops the record of a dead resolver that nothing needs any more, and reports nothing")
    func reconcileForgetsUnneededResolver() throws {
        let host = try FakeHost()
        try host.network()
        _ = try named(host, "c1", id: "e1", name: "web")
        let resolver = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() })
        try host.manager.detach(id: "e1")
        host.kernel.killResolver(resolver.pid)
        #expect(try host.manager.resolverStatus() == .stale(resolver))
        let report = try host.manager.reconcile()
        #expect(report.restored.isEmpty && host.kernel.resolvers.launches.count == 1, "nothing to serve: not started again")
        #expect(try host.manager.store.read { tx throws(BerthError) in try tx.resolver() } == nil)
        #expect(try host.manager.resolverStatus() == .notNeeded)
    }

    @Test("a manager given its resolver's executable (an embedding runtime's) starts that one, not berth-dns beside the running binary")
    func givenResolverExecutable() throws {
        let host = try FakeHost()
        try host.network()
        let manager = NetworkManager(store: host.manager.store, host: host.handle, resolverExecutable: "/opt/runtime/libexec/berth-dns")
        host.kernel.addNamespace("c1")
        _ = try manager.attach(AttachOptions(network: "web", namespace: .name("c1"), id: "e1", name: "web"))
        #expect(host.kernel.resolvers.launches.map(\.executable) == ["/opt/runtime/libexec/berth-dns"])
        #expect(host.kernel.resolvers.launches.first?.stateDirectory == host.stateDirectory)
    }

    @Test("a resolver that cannot start rolls the attach back")
    func startFailureRollsBack() throws {
        let host = try FakeHost()
        try host.network()
        host.kernel.resolvers.failsToStart = true
        host.kernel.addNamespace("c1")
        let error = refusal { _ = try named(host, "c1", id: "e1", name: "web") }
        #expect(error?.message.contains("cannot start the resolver") == true)
        #expect(try host.recorded().isEmpty)
        #expect(host.kernel.link("eth0", in: try host.namespace("c1")) == nil)
    }
    private func recordedResolver(_ host: FakeHost) throws -> ResolverProcess? {
        try host.manager.store.read { tx throws(BerthError) in try tx.resolver() }
    }

    @Test("an attach that fails after starting the resolver stops it; one running without a record (its attach killed before COMMIT) is reported, and adopted by the next attach instead of a second start")
    func unrecordedResolverAdoptedByAttach() throws {
        let host = try FakeHost()
        try host.network()
        host.kernel.addNamespace("c1")
        host.arm("state.commit")
        let error = refusal { _ = try named(host, "c1", id: "e1", name: "web") }
        #expect(error?.message.contains("fail point state.commit") == true)
        #expect(host.kernel.resolvers.launches.count == 1)
        #expect(host.kernel.resolvers.running.isEmpty, "the resolver the failed attach started runs on without a record")
        #expect(try recordedResolver(host) == nil && host.recorded().isEmpty)
        host.disarm()

        // The attach killed between the start and its COMMIT: no rollback ran.
        let unrecorded = host.kernel.resolvers.startUnrecorded(stateDirectory: host.stateDirectory)
        #expect(try host.manager.resolverStatus() == .unrecorded(unrecorded))
        #expect(try host.manager.check().map(\.description) == ["resolver \(unrecorded): running without a record"])
        _ = try named(host, "c1", id: "e1", name: "web")
        #expect(host.kernel.resolvers.launches.count == 1, "adopted, no second start (whose bind would fail)")
        #expect(try recordedResolver(host) == unrecorded)
        #expect(host.kernel.resolvers.signals.last == "1 \(unrecorded.pid)", "reloaded after the commit")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("reconcile always reloads the running resolver (a SIGHUP lost to a crash after a COMMIT), and records one running without a record")
    func reconcileReloadsAndAdopts() throws {
        let host = try FakeHost()
        try host.network()
        _ = try named(host, "c1", id: "e1", name: "web")
        let resolver = try #require(try recordedResolver(host))
        #expect(host.kernel.resolvers.signals == ["1 \(resolver.pid)"])
        #expect(try host.manager.reconcile().isEmpty)
        #expect(host.kernel.resolvers.signals == ["1 \(resolver.pid)", "1 \(resolver.pid)"])

        // A reconcile that started one and was killed before its COMMIT.
        host.kernel.killResolver(resolver.pid)
        let unrecorded = host.kernel.resolvers.startUnrecorded(stateDirectory: host.stateDirectory)
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description) == ["resolver \(unrecorded): running without a record"])
        #expect(try recordedResolver(host) == unrecorded && host.kernel.resolvers.launches.count == 1)
        #expect(host.kernel.resolvers.signals.last == "1 \(unrecorded.pid)")
        #expect(try host.manager.check().isEmpty)
    }

    @Test("gc records a resolver running without a record while a network has DNS on, and stops it once none has")
    func gcAdoptsOrStopsUnrecordedResolver() throws {
        let host = try FakeHost()
        try host.network()
        let first = host.kernel.resolvers.startUnrecorded(stateDirectory: host.stateDirectory)
        #expect(try host.manager.gc().resolver == nil)
        #expect(try recordedResolver(host) == first && host.kernel.isRunning(first))

        try host.manager.removeNetwork(named: "web")
        try host.manager.store.write { tx throws(BerthError) in try tx.clearResolver() }
        #expect(try host.manager.gc().resolver == first.description)
        #expect(host.kernel.resolvers.running.isEmpty)
        #expect(try host.manager.resolverStatus() == .notNeeded)
    }

    @Test("network rm tells the resolver once its mark is committed, so a removal that fails (or is killed) after it leaves nothing served")
    func removalReloadsAfterItsMark() throws {
        let host = try FakeHost()
        try host.network()
        _ = try named(host, "c1", id: "e1", name: "web1")
        try host.manager.detach(id: "e1")
        let resolver = try #require(try recordedResolver(host))
        let before = host.kernel.resolvers.signals.count
        host.arm("network.rm.firewall")
        #expect(throws: BerthError.self) { try host.manager.removeNetwork(named: "web") }
        host.disarm()
        #expect(try host.manager.network(named: "web").phase == .removing)
        #expect(Array(host.kernel.resolvers.signals.dropFirst(before)) == ["1 \(resolver.pid)"], "reloaded with the mark committed")
        // Finished by rm again: reloaded again, once.
        try host.manager.removeNetwork(named: "web")
        #expect(Array(host.kernel.resolvers.signals.dropFirst(before)) == ["1 \(resolver.pid)", "1 \(resolver.pid)"])
    }

    @Test("aliases on a network with DNS off are refused when the front end asks (berth attach, berth run), naming the network, and nothing is made; berth-cni's way (no check) keeps them")
    func aliasesWithoutResolver() throws {
        let host = try FakeHost()
        _ = try host.manager.createNetwork(NetworkOptions(name: "off", subnet: try CIDR(parsing: "10.90.0.0/24"), dns: false))
        host.kernel.addNamespace("c1")
        let mark = host.kernel.mark
        let options = try AttachOptions(network: "off", namespace: .name("c1"), id: "e1", name: "web", aliases: ["www"])
        let refused = refusal { _ = try host.manager.attachDescribed(options, checkNetwork: options.checkAliasesServed) }
        expect(refused, .invalidArgument, ["network off has DNS off", "www", "never resolve"], parameter: "alias")
        #expect(host.kernel.operations(since: mark).isEmpty)
        #expect(try host.manager.endpoints().isEmpty)
        // A name alone is what Docker's default bridge takes too (the container's name).
        let nameOnly = try AttachOptions(network: "off", namespace: .name("c1"), id: "e1", name: "web")
        #expect(try host.manager.attachDescribed(nameOnly, checkNetwork: nameOnly.checkAliasesServed).endpoint.name == "web")
        // The unchecked attach (berth-cni: podman sends aliases to every network) records them.
        host.kernel.addNamespace("c2")
        #expect(try named(host, "c2", id: "e2", name: nil, aliases: ["db"], network: "off").aliases == ["db"])
    }
}
