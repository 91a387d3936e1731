import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
@testable import BerthOCIHook
import Foundation
import Testing

/// `HookNetwork` on the fake kernel: what a repeated `createRuntime` keeps and what it
/// replaces.
@Suite("berth-oci-hook attach policy (fake kernel)")
struct HookNetworkPolicyTests {
    /// A fake host with network "web" and the hook's view of it.
    static func setUp() throws -> (FakeHost, HookNetwork, HookAnnotations) {
        let host = try FakeHost()
        _ = try host.manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"), bridge: try InterfaceName("brweb")))
        return (host, HookNetwork(manager: host.manager), HookAnnotations(network: "web"))
    }

    @Test("a hook call's store bounds all its lock waits by one deadline, HookNetwork.totalLockWait (30 s) from its opening, within the entries' 40 s timeout")
    func lockBudget() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/berth-hook-budget-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let network = try HookNetwork(stateDirectory: directory)
        #expect(network.manager.store.totalLockWait == .seconds(30) && network.manager.store.lockWait <= .seconds(30))
        #expect(HookNetwork.totalLockWait + .seconds(10) == .seconds(HookFiles.timeout))
    }

    @Test("berth.name and berth.aliases name the endpoint on a network with DNS on; aliases on one with DNS off are refused, nothing made")
    func namesAndAliases() throws {
        let (host, hook, _) = try Self.setUp()
        host.kernel.addNamespace("c1", pid: 100, loopbackUp: true)
        let named = HookAnnotations(network: "web", name: "api", aliases: ["www", "api-v2"])
        guard case .created(let endpoint) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: named) else {
            Issue.record("the attach made no endpoint")
            return
        }
        #expect(endpoint.name == "api" && endpoint.aliases == ["www", "api-v2"])

        _ = try host.manager.createNetwork(NetworkOptions(name: "plain", subnet: try CIDR(parsing: "10.89.0.0/24"), bridge: try InterfaceName("brplain"), dns: false))
        let namespace = host.kernel.addNamespace("c2", pid: 200, loopbackUp: true)
        let error = try #require(throws: BerthError.self) {
            try hook.attach(id: "c2", namespacePath: "/proc/200/ns/net", request: HookAnnotations(network: "plain", name: "db", aliases: ["cache"]))
        }
        #expect(error.code == .invalidArgument && error.parameter == HookAnnotations.aliases && error.object == .network("plain"), "\(error)")
        #expect(error.message.contains("the alias cache would never resolve"), "\(error)")
        #expect(host.kernel.link("eth0", in: namespace) == nil)
        // A name alone is fine there (as berth attach --name): it names the endpoint in inspect and ps.
        guard case .created(let plain) = try hook.attach(id: "c2", namespacePath: "/proc/200/ns/net", request: HookAnnotations(network: "plain", name: "db")) else {
            Issue.record("the attach made no endpoint")
            return
        }
        #expect(plain.name == "db" && plain.aliases.isEmpty)
    }

    @Test("the default network, left marked by a createRuntime stopped while it made it (its undo refused, as when killed), is finished and made anew by the next createRuntime, which attaches")
    func defaultNetworkUnfinished() throws {
        let host = try FakeHost()
        let hook = HookNetwork(manager: host.manager)
        host.kernel.addNamespace("c1", pid: 100, loopbackUp: true)
        host.kernel.addNamespace("c2", pid: 200, loopbackUp: true)
        host.arm("network.firewall")
        host.arm("network.rm.firewall")
        #expect(throws: BerthError.self) { try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: HookAnnotations()) }
        host.disarm()
        #expect(try host.manager.network(named: KernelNames.defaultNetwork).phase == .creating)

        guard case .created(let endpoint) = try hook.attach(id: "c2", namespacePath: "/proc/200/ns/net", request: HookAnnotations()) else {
            Issue.record("the attach made no endpoint")
            return
        }
        #expect(endpoint.network == KernelNames.defaultNetwork)
        #expect(try host.manager.network(named: KernelNames.defaultNetwork).phase == .ready)
        #expect(host.kernel.link("berth0")?.isUp == true)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a network the user made, left marked by an interrupted create or removal, is not made anew by a createRuntime: its refusal stands, the record untouched")
    func userNetworkUnfinished() throws {
        let (host, hook, request) = try Self.setUp()
        host.kernel.addNamespace("c1", pid: 100, loopbackUp: true)
        try host.manager.store.write { tx throws(BerthError) in try tx.setPhase(.creating, network: "web") }
        let before = try host.manager.network(named: "web")
        let error = #expect(throws: BerthError.self) { try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request) }
        #expect(error?.code == .conflict && error?.remedy == .collectGarbage, "\(String(describing: error))")
        #expect(error?.message.contains("network web is not ready") == true, "\(String(describing: error))")
        #expect(try host.manager.network(named: "web") == before)
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("a repeated createRuntime in the same namespace keeps the endpoint it finds wired")
    func repeatedKeeps() throws {
        let (host, hook, request) = try Self.setUp()
        host.kernel.addNamespace("c1", pid: 100, loopbackUp: true)
        guard case .created(let first) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request) else {
            Issue.record("the first attach made no endpoint")
            return
        }
        let before = host.kernel.snapshot()
        guard case .existing(let again) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request) else {
            Issue.record("the repeated attach did not keep the endpoint")
            return
        }
        #expect(again == first)
        // Looked, changed nothing.
        #expect(host.kernel.snapshot() == before)
    }

    @Test("a record whose namespace inode was reused by a new namespace without its veth pair is replaced: the container gets eth0")
    func reusedInode() throws {
        let (host, hook, request) = try Self.setUp()
        let old = host.kernel.addNamespace("old", pid: 100, loopbackUp: true)
        _ = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request)
        // The container dies without poststop (its pair goes with its namespace); the next
        // namespace gets the old one's inode number, which the record still holds.
        host.kernel.destroyNamespace(old)
        let new = host.kernel.addNamespace("new", pid: 200, loopbackUp: true)
        try host.manager.store.write { tx throws(BerthError) in
            var record = try tx.deleteEndpoint(id: "c1")
            record.namespaceIdentity = new.identity
            record.namespacePath = "/proc/200/ns/net"
            try tx.insertEndpoint(record)
        }
        #expect(host.kernel.link("eth0", in: new) == nil)

        let result = try hook.attach(id: "c1", namespacePath: "/proc/200/ns/net", request: request)
        guard case .created(let endpoint) = result else {
            Issue.record("the stale endpoint was kept: \(result)")
            return
        }
        let eth0 = try #require(host.kernel.link("eth0", in: new))
        #expect(eth0.kind == "veth")
        #expect(host.kernel.link(endpoint.hostVeth.rawValue)?.peer?.index == eth0.index)
        #expect(try host.manager.endpoints().map(\.id) == ["c1"])
    }

    @Test("a record whose host veth lost its tag, or whose peer is not in the namespace, is replaced")
    func untaggedOrElsewhere() throws {
        let (host, hook, request) = try Self.setUp()
        let namespace = host.kernel.addNamespace("c1", pid: 100, loopbackUp: true)
        guard case .created(let first) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request) else {
            Issue.record("the first attach made no endpoint")
            return
        }
        // The container's end renamed away: the pair is there, but eth0 is not Berth's.
        let inside = try host.manager.host.netlink(in: namespace)
        try inside.rename(.name(try InterfaceName("eth0")), to: try InterfaceName("moved0"))
        let result = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request)
        guard case .created = result else {
            Issue.record("an endpoint without its interface was kept: \(result)")
            return
        }
        let eth0 = try #require(host.kernel.link("eth0", in: namespace))
        #expect(host.kernel.link(first.hostVeth.rawValue)?.peer?.index == eth0.index)

        // The host end under its recorded name, its peer eth0 in the namespace, but the tag
        // names another endpoint: not this record's pair.
        let instance = try host.manager.store.read { tx throws(BerthError) in try tx.instance() }
        try host.manager.host.netlink.setAlias(.name(first.hostVeth), to: KernelNames.endpointAlias("other", instance: instance.id))
        let retagged = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request)
        guard case .created = retagged else {
            Issue.record("an endpoint whose host veth carries another tag was kept: \(retagged)")
            return
        }
        let tag = try #require(KernelNames.Tag(host.kernel.link(first.hostVeth.rawValue)?.alias))
        #expect(tag.owner == "c1")
    }

    @Test("a createRuntime of an id whose endpoint is wired in another live namespace is refused, naming the id; the live container keeps its network")
    func sameIDElsewhereLive() throws {
        let (host, hook, _) = try Self.setUp()
        let request = try HookAnnotations(["berth.network": "web", "berth.publish": "8080:80"])
        let live = host.kernel.addNamespace("live", pid: 100, loopbackUp: true)
        guard case .created(let first) = try hook.attach(id: "web", namespacePath: "/proc/100/ns/net", request: request) else {
            Issue.record("the first attach made no endpoint")
            return
        }
        // A container of another runtime root with the same id.
        let other = host.kernel.addNamespace("other", pid: 200, loopbackUp: true)
        let before = host.kernel.snapshot()
        do {
            _ = try hook.attach(id: "web", namespacePath: "/proc/200/ns/net", request: request)
            Issue.record("the second container took the live one's endpoint")
        } catch {
            #expect(error.code == .alreadyExists)
            #expect(error.message.contains("web"))
            #expect(error.message.contains("/proc/100/ns/net"))
            let text = HookMessages.describe(error, stage: .createRuntime, container: "web")
            #expect(text.contains("another container"), "\(text)")
            #expect(text.contains("another container id"), "\(text)")
        }
        // Nothing changed: the live container keeps its veth, lease and ports.
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints() == [first])
        let eth0 = try #require(host.kernel.link("eth0", in: live))
        #expect(host.kernel.link(first.hostVeth.rawValue)?.peer?.index == eth0.index)
        #expect(host.kernel.link("eth0", in: other) == nil)

        // runc destroys the refused container and runs its poststop hooks: the endpoint
        // recorded under its id is the live one's, and stays with its veth, lease and port.
        host.kernel.destroyNamespace(other)
        guard case .held(let held) = try hook.poststop(id: "web", joined: false) else {
            Issue.record("the refused container's poststop detached the live one's endpoint")
            return
        }
        #expect(held == first)
        #expect(try host.manager.endpoints() == [first])
        #expect(host.kernel.link(first.hostVeth.rawValue)?.peer?.index == host.kernel.link("eth0", in: live)?.index)
        #expect(try host.manager.store.read { tx throws(BerthError) in try tx.endpoint(id: "web") }?.ports == first.ports)
        #expect(!first.ports.isEmpty)
        // Joined or not, the same: the bundle may be unreadable by poststop.
        guard case .kept = try hook.poststop(id: "web", joined: true) else {
            Issue.record("a joined poststop detached the live endpoint")
            return
        }
        #expect(try host.manager.endpoints() == [first])
    }

    @Test("poststop detaches the container's own endpoint once its namespace is gone, and one whose namespace lives on but lost its veth pair")
    func poststopOwnEndpoint() throws {
        let (host, hook, request) = try Self.setUp()
        let own = host.kernel.addNamespace("own", pid: 100, loopbackUp: true)
        guard case .created(let endpoint) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", request: request) else {
            Issue.record("the attach made no endpoint")
            return
        }
        host.kernel.destroyNamespace(own)
        guard case .detached = try hook.poststop(id: "c1", joined: false) else {
            Issue.record("the container's own endpoint was kept after its namespace went")
            return
        }
        #expect(try host.manager.endpoints().isEmpty)
        #expect(host.kernel.link(endpoint.hostVeth.rawValue) == nil)

        // Alive under the recorded path and identity, but with no pair of Berth's: stale.
        let again = host.kernel.addNamespace("again", pid: 200, loopbackUp: true)
        _ = try hook.attach(id: "c2", namespacePath: "/proc/200/ns/net", request: request)
        let record = try #require(try host.manager.endpoints().first)
        try host.manager.host.netlink.setAlias(.name(record.hostVeth), to: "not berth's")
        guard case .detached = try hook.poststop(id: "c2", joined: false) else {
            Issue.record("an endpoint without its veth pair was kept")
            return
        }
        #expect(try host.manager.endpoints().isEmpty)
        #expect(host.kernel.link(record.hostVeth.rawValue) == nil)
        #expect(host.kernel.link("eth0", in: again) == nil)
    }

    @Test("a createRuntime of an id whose recorded namespace is gone (a restart without poststop) replaces the endpoint")
    func sameIDElsewhereGone() throws {
        let (host, hook, request) = try Self.setUp()
        let old = host.kernel.addNamespace("old", pid: 100, loopbackUp: true)
        _ = try hook.attach(id: "web", namespacePath: "/proc/100/ns/net", request: request)
        host.kernel.destroyNamespace(old)
        let new = host.kernel.addNamespace("new", pid: 200, loopbackUp: true)
        guard case .created(let endpoint) = try hook.attach(id: "web", namespacePath: "/proc/200/ns/net", request: request) else {
            Issue.record("the stale endpoint was kept")
            return
        }
        #expect(endpoint.namespaceIdentity == new.identity)
        #expect(try host.manager.endpoints().map(\.id) == ["web"])
        #expect(host.kernel.link("eth0", in: new) != nil)
    }

    @Test("a record judged stale is detached only while it is still the one judged: a same-id attach made meanwhile keeps its network")
    func staleJudgmentReplacesNothingNewer() throws {
        let (host, hook, request) = try Self.setUp()
        let ns0 = host.kernel.addNamespace("ns0", pid: 100, loopbackUp: true)
        _ = try hook.attach(id: "web", namespacePath: "/proc/100/ns/net", request: request)
        host.kernel.destroyNamespace(ns0)
        // What a createRuntime (or poststop) reads outside the lock, and judges stale.
        let stale = try #require(try host.manager.store.read { tx throws(BerthError) in try tx.endpoint(id: "web") })
        // Meanwhile a createRuntime of the same id from another runtime root replaces it.
        let ns1 = host.kernel.addNamespace("ns1", pid: 200, loopbackUp: true)
        try host.manager.detach(id: "web")
        guard case .created(let current) = try hook.attach(id: "web", namespacePath: "/proc/200/ns/net", request: request) else {
            Issue.record("the re-attach made no endpoint")
            return
        }
        // The first one's replace step, with the record it judged, changes nothing.
        guard case .changed(let found) = try hook.detach(id: "web", ifStill: stale) else {
            Issue.record("the replace step detached the endpoint attached meanwhile")
            return
        }
        #expect(found == current)
        // Nor does a poststop that read no record before the attach.
        guard case .changed(let again) = try hook.detach(id: "web", ifStill: nil) else {
            Issue.record("a detach judged on no record detached the endpoint attached meanwhile")
            return
        }
        #expect(again == current)
        #expect(try host.manager.endpoints() == [current])
        let eth0 = try #require(host.kernel.link("eth0", in: ns1))
        #expect(host.kernel.link(current.hostVeth.rawValue)?.peer?.index == eth0.index)
        // The record judged, still there, is detached.
        guard case .detached(recorded: true) = try hook.detach(id: "web", ifStill: current) else {
            Issue.record("the record judged was not detached")
            return
        }
        #expect(try host.manager.endpoints().isEmpty)
    }

    @Test("a joined namespace must be the process's: a path leading elsewhere is refused naming both; the same one is attached and its path recorded")
    func joinedPathIsTheProcesses() throws {
        let (host, hook, request) = try Self.setUp()
        let joined = host.kernel.addNamespace("joined", pid: 100, loopbackUp: true)
        let elsewhere = host.kernel.addNamespace("elsewhere", pid: 200, loopbackUp: true)
        let before = host.kernel.snapshot()
        let error = try #require(throws: BerthError.self) {
            _ = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", processNamespacePath: "/proc/200/ns/net", request: request)
        }
        #expect(error.message.contains("/proc/100/ns/net") && error.message.contains("/proc/200/ns/net"), "\(error)")
        #expect(host.kernel.snapshot() == before)
        #expect(try host.manager.endpoints().isEmpty)
        #expect(host.kernel.link("eth0", in: elsewhere) == nil)
        guard case .created(let endpoint) = try hook.attach(id: "c1", namespacePath: "/proc/100/ns/net", processNamespacePath: "/proc/100/ns/net",
                                                            request: request) else {
            Issue.record("the process's own namespace was not attached")
            return
        }
        #expect(endpoint.namespacePath == "/proc/100/ns/net")
        #expect(host.kernel.link("eth0", in: joined) != nil)
    }
}
