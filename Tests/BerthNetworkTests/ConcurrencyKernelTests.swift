import BerthTestSupport
import Foundation
import Testing

/// Many `berth` processes at once, and detach's idempotence.
@Suite("attach path concurrency (kernel)", .enabled(if: try KernelTests.enabled))
struct ConcurrencyKernelTests {
    @Test("8 attach processes at once on a network whose bridge is gone: distinct addresses, one bridge, one gateway; 8 detaches undo them")
    func parallelAttachesRebuildOneBridge() throws {
        try withHostSandbox { sandbox in
            // 8, not 20: all start at once and race to rebuild the bridge, but they then queue
            // on the state lock, and 20 of them on a loaded host (2 cores, load 20) waited past
            // its 30 s timeout. The race needs only two; 8 make one near certain.
            let count = 8
            let containers = try (0..<count).map { _ in try Oracle.container(in: sandbox) }
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.41.0.0/24", "--bridge", "brweb"]).succeeded)
            // A reboot or an admin took the bridge away; the network is still recorded.
            #expect(sandbox.run(["ip", "link", "del", "brweb"]).succeeded)
            try #require(Oracle.bridges(sandbox).isEmpty)
            let before = KernelSnapshot(sandbox, namespaces: containers)

            let attaches = try BerthProcess.all(sandbox, containers.enumerated().map { ["attach", "web", "--netns", $1, "--id", "ep\($0)"] })
            for (index, result) in attaches.enumerated() {
                #expect(result.succeeded && result.stdout == "ep\(index)\n", "\(result)")
            }
            let endpoints = try Oracle.endpoints(sandbox)
            let addresses = endpoints.compactMap { $0["ip"] as? String }
            #expect(addresses.count == count && Set(addresses).count == count, "\(addresses)")
            #expect(Set(addresses) == Set((2...count + 1).map { "10.41.0.\($0)" }))
            #expect(Oracle.bridges(sandbox).map { $0["ifname"] as? String } == ["brweb"])
            #expect(Oracle.ipv4(sandbox, dev: "brweb") == ["10.41.0.1/24"])
            let veths = Oracle.berthVeths(sandbox)
            #expect(veths.count == count)
            #expect(veths.allSatisfy { $0["master"] as? String == "brweb" })
            for endpoint in endpoints {
                let ns = try #require((endpoint["netns"] as? String)?.split(separator: "/").last.map(String.init))
                #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: ns) == ["\(endpoint["ip"] as? String ?? "?")/24"])
            }
            // Every process found the network's rules in place: none was added twice.
            let ruleset = sandbox.run(["nft", "list", "ruleset"]).stdout
            #expect(ruleset.components(separatedBy: "berth-network web").count - 1 == 3, "\(ruleset)")
            #expect(sandbox.berth(["check"]).succeeded)

            let detaches = try BerthProcess.all(sandbox, (0..<count).map { ["detach", "ep\($0)"] })
            let failedDetaches = detaches.filter { !$0.succeeded }
            #expect(failedDetaches.isEmpty, "\(failedDetaches)")
            // Each detach hands its renamed host veth's deletion to a detached process
            // (berth_delete_link_detached) and exits: under load some are still on their way.
            #expect(Oracle.wait(seconds: 30) { Oracle.detachedLinksGone(sandbox) }, "host ends still there: \(Oracle.ip(sandbox, ["link", "show"]).compactMap { $0["ifname"] as? String })")
            var after = KernelSnapshot(sandbox, namespaces: containers)
            // The rebuilt bridge stays, as network create left it; everything else is as before.
            let rebuilt = after.links.filter { $0.hasPrefix("brweb ") }
            #expect(rebuilt.count == 1 && rebuilt.allSatisfy { $0.hasPrefix("brweb kind=bridge master=- mtu=1500 up alias=berth-network web @") }, "\(rebuilt)")
            after.links.removeAll { $0.hasPrefix("brweb ") }
            after.addresses.removeAll { $0.hasPrefix("brweb ") }
            after.routes.removeAll { $0.contains("dev=brweb ") }
            #expect(after == before, "\(after.difference(from: before))")
        }
    }

    @Test("8 attach processes at once on a /29: the 5 free addresses are handed out, the 3 others fail cleanly")
    func parallelAttachesExhaustSubnet() throws {
        try withHostSandbox { sandbox in
            // 8 on a /29 rather than 20 on a /28: still more processes than addresses, all at
            // once, and fewer queued on the state lock (30 s), which 20 outwaited on a loaded host.
            let containers = try (0..<8).map { _ in try #require(try sandbox.makeNamespace().name) }
            try #require(sandbox.berth(["network", "create", "small", "--subnet", "10.42.0.0/29"]).succeeded)

            let results = try BerthProcess.all(sandbox, containers.map { ["attach", "small", "--netns", $0] })
            let granted = results.indices.filter { results[$0].succeeded }
            let refused = results.indices.filter { !results[$0].succeeded }
            #expect(granted.count == 5)
            for index in refused {
                let result = results[index]
                #expect(result.status == 1 && result.stderr.contains("no free address left in subnet 10.42.0.0/29"), "\(result)")
                #expect(Oracle.ip(sandbox, ["link", "show", "dev", "eth0"], ns: containers[index]).isEmpty, "a refused attach left eth0")
            }
            let addresses = try Oracle.endpoints(sandbox).compactMap { $0["ip"] as? String }
            #expect(Set(addresses) == Set((2...6).map { "10.42.0.\($0)" }))
            #expect(Oracle.berthVeths(sandbox).count == granted.count)
        }
    }

    @Test("detach is idempotent: twice, and an id that never existed, both succeed")
    func detachTwice() throws {
        try withHostSandbox { sandbox in
            let container = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.43.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox)
            try #require(sandbox.berth(["attach", "web", "--netns", container, "--id", "once"]).succeeded)
            try #require(Oracle.berthVeths(sandbox).count == 1)

            for attempt in 1...2 {
                let detach = sandbox.berth(["detach", "once"])
                #expect(detach.succeeded, "attempt \(attempt): \(detach)")
            }
            let never = sandbox.berth(["detach", "never-attached"])
            #expect(never.succeeded, "\(never)")
            #expect(Oracle.ip(sandbox, ["link", "show", "dev", "eth0"], ns: container).isEmpty)
            // The renamed host end is deleted by a detached process after the detach exits.
            #expect(Oracle.wait(seconds: 30) { Oracle.detachedLinksGone(sandbox) })
            let after = KernelSnapshot(sandbox)
            #expect(after == before, "\(after.difference(from: before))")
        }
    }

    @Test("detach after the container's namespace was deleted succeeds and leaves nothing")
    func detachAfterNamespaceGone() throws {
        try withHostSandbox { sandbox in
            // Made with ip, so this process holds no descriptor that would keep it alive.
            let container = "bt-gone-\(KernelTests.uniqueSuffix())"
            try #require(Command.run(["ip", "netns", "add", container]).succeeded)
            sandbox.adopt(namespaceNamed: container)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.44.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox)
            try #require(sandbox.berth(["attach", "web", "--netns", container, "--id", "orphan"]).succeeded)

            #expect(Command.run(["ip", "netns", "del", container]).succeeded)
            // The kernel destroys the namespace, and the veth pair with it, asynchronously.
            #expect(Oracle.wait { Oracle.berthVeths(sandbox).isEmpty }, "the veth outlived its namespace")
            let detach = sandbox.berth(["detach", "orphan"])
            #expect(detach.succeeded, "\(detach)")
            let after = KernelSnapshot(sandbox)
            #expect(after == before, "\(after.difference(from: before))")
        }
    }
}
