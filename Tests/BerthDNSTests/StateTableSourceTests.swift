import BerthCore
import BerthNamespace
import BerthNetwork
import Foundation
import Testing
@testable import BerthDNS

/// The table the resolver builds from Berth's state records.
@Suite("StateTableSource: the table from state records")
struct StateTableSourceTests {
    let network = NetworkRecord(name: "front", id: "0123456789ab", bridge: try! InterfaceName("br-0123456789ab"),
                                subnet: try! CIDR(parsing: "10.89.0.0/24"), gateway: IPv4Address(10, 89, 0, 1), mtu: 1500,
                                isInternal: false, created: 0, ipv6Subnet: try! CIDR(parsing: "fd00:89::/64"),
                                ipv6Gateway: try! IPv6Address(parsing: "fd00:89::1"), dns: true)

    func endpoint(_ id: String, _ last: UInt8, name: String?, v6: String? = nil, aliases: [String] = []) throws -> EndpointRecord {
        EndpointRecord(id: id, network: "front", namespacePath: "/run/netns/x", namespaceIdentity: NamespaceIdentity(device: 1, inode: 2),
                       interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb" + id),
                       address: IPv4Address(10, 89, 0, last), mac: MACAddress(derivedFrom: IPv4Address(10, 89, 0, last)), created: 0,
                       ipv6Address: try v6.map { text throws(BerthError) in try IPv6Address(parsing: text) }, name: name, aliases: aliases)
    }

    @Test("a dual-stack endpoint answers A and AAAA, its IPv6 PTR is answered, and the v6 subnet's other reverse names are NXDOMAIN")
    func dualStack() throws {
        let table = try StateTableSource.table(networks: [network], endpoints: [
            try endpoint("aaaa1", 2, name: "web", v6: "fd00:89::2", aliases: ["www"]),
            try endpoint("aaaa2", 3, name: "db"),
        ])
        let resolver = try DNSResolver(table: table)
        func answer(_ text: String, _ type: DNSRecordType) throws -> DNSMessage {
            guard case .answer(let message) = resolver.resolve(query(text, type), zone: 0) else { throw SandboxlessError("no answer for \(text)") }
            return message
        }
        #expect(try answer("www", .aaaa).answers.map(\.data) == [.aaaa(try IPv6Address(parsing: "fd00:89::2"))])
        #expect(try answer("web", .a).answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 2))])
        #expect(try answer("db", .aaaa).answers.isEmpty, "an IPv4-only endpoint has no AAAA")
        let reverse = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.0.0.d.f.ip6.arpa"
        #expect(try answer(reverse, .ptr).answers.map(\.data) == [.ptr(name("web.front"))])
        let other = "9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.0.0.0.0.d.f.ip6.arpa"
        #expect(try answer(other, .ptr).responseCode == .nameError)
        #expect(table.networks.first?.subnets.map(\.description) == ["10.89.0.0/24", "fd00:89::/64"])
    }

    func record(_ name: String, _ third: UInt8, upstreams: [String] = []) throws -> NetworkRecord {
        NetworkRecord(name: name, id: "01234567890\(third)", bridge: try InterfaceName("br-\(name)"),
                      subnet: try CIDR(parsing: "10.\(third).0.0/24"), gateway: IPv4Address(10, third, 0, 1), mtu: 1500,
                      isInternal: false, created: 0, dns: true, dnsUpstreams: upstreams)
    }

    @Test("one network's unparseable upstream leaves out that upstream only; the other networks are intact")
    func badUpstream() throws {
        let networks = [try record("front", 89, upstreams: ["192.0.2.53", "not-an-upstream"]), try record("back", 90)]
        let table = try StateTableSource.table(networks: networks, endpoints: [try endpoint("aaaa1", 2, name: "web")])
        #expect(table.networks.map(\.name) == ["front", "back"])
        #expect(table.networks.first?.upstreams == [try DNSUpstream(parsing: "192.0.2.53")])
        #expect(table.networks.first?.endpoints.map(\.name) == [name("web")])
        #expect(table.networks.last?.upstreams == nil)
        #expect(throws: Never.self) { _ = try DNSResolver(table: table) }
    }

    @Test("a name clash in one network (an id-named endpoint against another's alias) drops that endpoint, not the table")
    func nameClash() throws {
        // aaaa1 has aliases and no name: it is named by its id, which db's alias holds.
        let table = try StateTableSource.table(networks: [network, try record("back", 90)], endpoints: [
            try endpoint("db0", 3, name: "db", aliases: ["aaaa1"]),
            try endpoint("aaaa1", 2, name: nil, aliases: ["www"]),
            try endpoint("aaaa2", 4, name: "web"),
            try endpoint("aaaa3", 5, name: "WEB"),
        ])
        #expect(table.networks.map(\.name) == ["front", "back"])
        #expect(table.networks.first?.endpoints.map(\.name) == [name("db"), name("web")])
        let resolver = try DNSResolver(table: table)
        guard case .answer(let web) = resolver.resolve(query("web", .a), zone: 0) else {
            Issue.record("web is not answered")
            return
        }
        #expect(web.answers.map(\.data) == [.a(IPv4Address(10, 89, 0, 4))])
    }

    @Test("a network whose create or removal did not finish is not served, from the records or from a state directory; the others are",
          arguments: [NetworkRecord.Phase.creating, .removing])
    func unfinishedNetwork(phase: NetworkRecord.Phase) throws {
        var back = try record("back", 90)
        back.phase = phase
        let table = try StateTableSource.table(networks: [network, back], endpoints: [try endpoint("aaaa1", 2, name: "web")])
        #expect(table.networks.map(\.name) == ["front"])

        let directory = NSTemporaryDirectory() + "berth-dns-phase-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(directory: directory)
        try store.write { tx throws(BerthError) in
            try tx.setInstance(StateInstance(id: "f4ce0001"))
            try tx.insertNetwork(network)
            try tx.insertNetwork(back)
        }
        let source = StateTableSource(directory: directory)
        #expect(try source.load().networks.map(\.name) == ["front"])
        // Finished (the record gone) or made ready, the reload follows the state.
        try store.write { tx throws(BerthError) in try tx.setPhase(.ready, network: "back") }
        #expect(try source.load().networks.map(\.name).sorted() == ["back", "front"])
        try store.write { tx throws(BerthError) in
            try tx.setPhase(phase, network: "front")
            _ = try tx.deleteNetwork(named: "back")
        }
        #expect(try source.load().networks.isEmpty)
    }

    /// A state directory with `network` in it (ready unless `phase` says otherwise), this
    /// process holding its resolver lock and, when `recorded`, recorded as its resolver.
    func resolverState(phase: NetworkRecord.Phase = .ready, recorded: ProcessIdentity?) throws -> (directory: String, store: StateStore, source: StateTableSource) {
        let directory = NSTemporaryDirectory() + "berth-dns-exit-\(UUID().uuidString)"
        let store = try StateStore(directory: directory)
        var network = self.network
        network.phase = phase
        try store.write { tx throws(BerthError) in
            try tx.setInstance(StateInstance(id: "f4ce0001"))
            try tx.insertNetwork(network)
            if let recorded { try tx.setResolver(recorded) }
        }
        let me = try ProcessIdentity.current()
        let lock = try ResolverLock.acquire(stateDirectory: directory, as: me)
        return (directory, store, StateTableSource(directory: directory, resolver: me, lockDescriptor: lock))
    }

    @Test("an exit is called off while a ready network has DNS on: the record and the lock stay this resolver's")
    func exitCalledOff() throws {
        let me = try ProcessIdentity.current()
        let (directory, store, source) = try resolverState(recorded: me)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try source.confirmExit() == false)
        #expect(try store.read { tx throws(BerthError) in try tx.resolver() } == me)
        #expect(ResolverLock.holder(stateDirectory: directory) == me, "the lock was let go")
    }

    @Test("an exit with no ready DNS network clears this resolver's record and lets the lock go, so an attach starts a new one", arguments: [NetworkRecord.Phase.removing, .creating])
    func exitClearsRecord(phase: NetworkRecord.Phase) throws {
        let me = try ProcessIdentity.current()
        let (directory, store, source) = try resolverState(phase: phase, recorded: me)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try source.confirmExit())
        #expect(try store.read { tx throws(BerthError) in try tx.resolver() } == nil)
        #expect(ResolverLock.holder(stateDirectory: directory) == nil, "the lock is still held: an attach would adopt an exiting resolver")
    }

    @Test("an exit leaves another process's record alone (a resolver recorded since), and lets this one's lock go")
    func exitKeepsOthersRecord() throws {
        let other = ProcessIdentity(pid: 1, startTime: 1)
        let (directory, store, source) = try resolverState(phase: .removing, recorded: other)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try source.confirmExit())
        #expect(try store.read { tx throws(BerthError) in try tx.resolver() } == other)
        #expect(ResolverLock.holder(stateDirectory: directory) == nil)
    }
}
