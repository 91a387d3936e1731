import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// GC, STATUS and many ADDs at once, through the built binary.
@Suite("berth-cni: GC, STATUS, concurrency (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIMaintenanceKernelTests {
    @Test("GC removes attachments not in cni.dev/valid-attachments and a crashed ADD's veth; valid ones stay whole")
    func garbageCollection() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(version: "1.1.0", extra: #""subnet":"10.77.0.0/24""#)
            var results: [String: String] = [:]
            for id in ["keep", "stale1", "stale2"] {
                let ns = try sandbox.makeNamespace()
                let ports = id == "stale1" ? #","runtimeConfig":{"portMappings":[{"hostPort":9001,"containerPort":80}]}"# : ""
                let add = cni.run("ADD", String(config.dropLast()) + ports + "}", containerID: id, netns: ns.path)
                try #require(add.status == 0, "\(add)")
                results[id] = add.stdout
            }
            // What a crash between creating the veth and committing leaves: a veth on the
            // bridge, tagged with this state's instance, that no endpoint records.
            let instance = try #require(cni.instanceSuffix())
            let keepResult = try #require(results["keep"])
            let keepJSON = try JSONValue(parsing: keepResult)
            let bridge = try #require(keepJSON["interfaces"]?[0]?["name"]?.stringValue)
            for step in [["ip", "link", "add", "vb00000000000cr", "type", "veth", "peer", "name", "crpeer"],
                         ["ip", "link", "set", "vb00000000000cr", "master", bridge],
                         ["ip", "link", "set", "vb00000000000cr", "alias", "berth-endpoint crashed-eth0" + instance]] {
                try #require(sandbox.run(step).succeeded)
            }
            let gc = cni.run("GC", String(config.dropLast()) + #","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]}"#)
            #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc)")
            let ps = sandbox.berth(["ps"]).stdout
            #expect(ps.contains("keep-eth0") && !ps.contains("stale1-eth0") && !ps.contains("stale2-eth0"), "\(ps)")
            #expect(cni.hostVeths().count == 1, "\(cni.hostVeths())")
            #expect(!cni.ruleset().contains("stale1-eth0"))
            let keepNetns = try #require(keepJSON["interfaces"]?[2]?["sandbox"]?.stringValue)
            let check = cni.run("CHECK", CNIHarness.with(prevResult: keepResult, config), containerID: "keep", netns: keepNetns)
            #expect(check.status == 0, "\(check)")
            // The legacy key name is accepted; an empty list removes the rest.
            #expect(cni.run("GC", String(config.dropLast()) + #","cni.dev/attachments":[]}"#).status == 0)
            #expect(cni.hostVeths().isEmpty)
            #expect(cni.run("GC", config).code == 7, "GC without the list must not guess")
        }
    }

    @Test("GC on a network shared by name with the CLI removes only CNI attachments: berth attach's endpoints stay whole")
    func garbageCollectionSharedNetwork() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            try #require(sandbox.berth(["network", "create", "cninet", "--subnet", "10.77.0.0/24"]).succeeded)
            // CLI endpoints: a plain id, and one that ends like a CNI id of another interface
            // name ("-eth1" on eth0). An id of exactly the CNI form is taken for CNI's.
            for (id, ifname) in [("cli1", "eth0"), ("web-eth1", "eth0"), ("look-alike-eth0", "eth0")] {
                let ns = try #require(try sandbox.makeNamespace().name)
                let attach = sandbox.berth(["attach", "cninet", "--netns", ns, "--id", id, "--ifname", ifname])
                try #require(attach.succeeded, "\(attach)")
            }
            let config = cni.config(version: "1.1.0", extra: #""subnet":"10.77.0.0/24""#)
            for id in ["keep", "stale"] {
                let add = cni.run("ADD", config, containerID: id, netns: try sandbox.makeNamespace().path)
                try #require(add.status == 0, "\(add)")
            }
            let gc = cni.run("GC", String(config.dropLast()) + #","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]}"#)
            #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc)")
            let ps = sandbox.berth(["ps"]).stdout
            for id in ["cli1", "web-eth1", "keep-eth0"] { #expect(ps.contains(id), "\(id) must stay: \(ps)") }
            for id in ["stale-eth0", "look-alike-eth0"] { #expect(!ps.contains(id), "\(id) must go: \(ps)") }
            #expect(cni.hostVeths().count == 3, "\(cni.hostVeths())")
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")
        }
    }

    @Test("STATUS: ready; code 50 once the pool is exhausted; code 50 when the state cannot be opened")
    func status() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            // A /30 holds the gateway and one endpoint.
            let config = cni.config(version: "1.1.0", extra: #""subnet":"10.77.0.0/30""#)
            let ready = cni.run("STATUS", config)
            #expect(ready.status == 0 && ready.stdout.isEmpty, "\(ready)")
            let ns = try sandbox.makeNamespace()
            #expect(cni.run("ADD", config, containerID: "only", netns: ns.path).status == 0)
            let full = cni.run("STATUS", config)
            #expect(full.code == 50, "\(full)")
            #expect(full.message.contains("no free address left in subnet 10.77.0.0/30"), "\(full)")
            let refused = cni.run("ADD", config, containerID: "more", netns: try sandbox.makeNamespace().path)
            #expect(refused.code == 100, "\(refused)")

            // A configuration with no main plugin's key may be chained behind another plugin,
            // whose ADD makes no network: STATUS does not judge a network it would create
            // (here one whose name Berth reserves).
            let bare = cni.run("STATUS", #"{"cniVersion":"1.1.0","name":"bridge","type":"berth-cni"}"#)
            #expect(bare.status == 0 && bare.stdout.isEmpty, "\(bare)")
            let named = cni.run("STATUS", #"{"cniVersion":"1.1.0","name":"bridge","type":"berth-cni","subnet":"10.78.0.0/24"}"#)
            #expect(named.code == 50 && named.message.contains("bridge"), "\(named)")

            let file = sandbox.stateDirectory + "/not-a-directory"
            #expect(FileManager.default.createFile(atPath: file, contents: Data()))
            let broken = #"{"cniVersion":"1.1.0","name":"x","stateDir":"\#(file)"}"#
            let unreadable = cni.run("STATUS", broken)
            #expect(unreadable.code == 50, "\(unreadable)")
        }
    }

    @Test("50 ADDs at once, then 50 DELs at once: all succeed, 50 distinct addresses, one bridge address, nothing left")
    func concurrency() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.0.0/24""#)
            let namespaces = try (0..<50).map { _ in try sandbox.makeNamespace() }
            let adds = inParallel(50) { i in cni.run("ADD", config, containerID: "ctr\(i)", netns: namespaces[i].path) }
            for outcome in adds { #expect(outcome.status == 0, "\(outcome)") }
            let addresses = Set(adds.compactMap(\.address))
            #expect(addresses.count == 50)
            let bridge = try #require(adds.first?.json?["interfaces"]?[0]?["name"]?.stringValue)
            let bridgeAddresses = sandbox.run(["ip", "-4", "-o", "addr", "show", "dev", bridge]).stdout.split(separator: "\n")
            #expect(bridgeAddresses.count == 1, "\(bridgeAddresses)")
            #expect(cni.hostVeths().count == 50)
            let dels = inParallel(50) { i in cni.run("DEL", CNIHarness.with(prevResult: adds[i].stdout, config), containerID: "ctr\(i)", netns: namespaces[i].path) }
            for outcome in dels { #expect(outcome.status == 0, "\(outcome)") }
            #expect(cni.hostVeths().isEmpty)
        }
    }

    /// Runs `body` for 0..<count on as many threads, all at once, and returns the results in order.
    private func inParallel<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = ResultBox<T>(count: count)
        let group = DispatchGroup()
        for i in 0..<count {
            let thread = Thread { results.set(i, body(i)); group.leave() }
            group.enter()
            thread.start()
        }
        group.wait()
        return results.values
    }
}

final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return storage.compactMap { $0 } }
}
