import BerthTestSupport
import Foundation
import Testing

/// Fail points (debug builds) work only in the binary built beside the tests, not in a
/// release build given through BERTH_BIN.
private let failPointsCompiledIn = Command.berthBinary.contains("/debug/")

/// Failures and crashes in the middle of `network create` and `attach`: rollback, `gc`, `check`.
@Suite("attach path recovery (kernel)", .enabled(if: try KernelTests.enabled))
struct RecoveryKernelTests {
    @Test("a network create failing after any step leaves no bridge, no nft change, no record",
          .enabled(if: failPointsCompiledIn),
          arguments: ["network.bridge", "network.address", "network.firewall"], [false, true])
    func networkRollback(point: String, besideAnotherNetwork: Bool) throws {
        try withHostSandbox { sandbox in
            // The first network also creates Berth's table; a later one only adds its rules.
            if besideAnotherNetwork {
                try #require(sandbox.berth(["network", "create", "base", "--subnet", "10.39.0.0/24"]).succeeded)
            }
            let before = KernelSnapshot(sandbox)
            let result = sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"],
                                       environment: ["BERTH_FAILPOINT": point])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("fail point \(point) reached"), "\(result)")
            let after = KernelSnapshot(sandbox)
            #expect(after == before, "\(after.difference(from: before))")
            #expect(!after.links.contains { $0.hasPrefix("brweb ") })
            #expect(!after.ruleset.contains("10.40.0.0/24"))
            #expect(Oracle.bridges(sandbox).count == (besideAnotherNetwork ? 1 : 0))

            // Nothing in the way of doing it again.
            let again = sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"])
            #expect(again.succeeded, "\(again)")
        }
    }

    @Test("an attach failing after any step leaves no veth, no lease, no nft change",
          .enabled(if: failPointsCompiledIn),
          arguments: ["attach.state", "attach.veth", "attach.configure"])
    func attachRollback(point: String) throws {
        try withHostSandbox { sandbox in
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox, namespaces: [container])
            let result = sandbox.berth(["attach", "web", "--netns", container, "--id", "doomed"], environment: ["BERTH_FAILPOINT": point])
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("fail point \(point) reached"), "\(result)")
            let after = KernelSnapshot(sandbox, namespaces: [container])
            #expect(after == before, "\(after.difference(from: before))")
            #expect(Oracle.berthVeths(sandbox).isEmpty)
            #expect(try Oracle.endpoints(sandbox).isEmpty)

            // The lease was not kept: the same id gets the first address again.
            let again = sandbox.berth(["attach", "web", "--netns", container, "--id", "doomed"])
            #expect(again.succeeded, "\(again)")
            #expect(try Oracle.endpoints(sandbox).first?["ip"] as? String == "10.40.0.2")
        }
    }

    @Test("an attach killed mid-way keeps its address until gc: the next attach gets another one; gc removes the leftover",
          .enabled(if: failPointsCompiledIn),
          arguments: ["attach.veth", "attach.configure", "attach.publish"])
    func gcAfterKill(point: String) throws {
        try withHostSandbox { sandbox in
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24"]).succeeded)
            let before = KernelSnapshot(sandbox, namespaces: [container])

            let marker = sandbox.stateDirectory + "/reached"
            let attach = try BerthProcess(sandbox, ["attach", "web", "--netns", container, "--id", "killed", "-p", "8080:80"],
                                          environment: ["BERTH_FAILPOINT": point + ":hang", "BERTH_FAILPOINT_REACHED": marker])
            let reached = Oracle.wait { FileManager.default.fileExists(atPath: marker) }
            #expect(kill(attach.pid, SIGKILL) == 0)
            let ended = attach.wait()
            try #require(reached, "the attach never reached \(point): \(ended)")
            #expect(ended.killed && ended.status == SIGKILL, "\(ended)")

            // The crash left a tagged veth pair with 10.40.0.2 inside, and its lease: the
            // record was committed, marked, before the kernel was touched.
            let leftovers = Oracle.berthVeths(sandbox)
            #expect(leftovers.count == 1)
            #expect((leftovers.first?["ifalias"] as? String)?.hasPrefix("berth-endpoint killed ") == true)
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: container) == (point == "attach.veth" ? [] : ["10.40.0.2/24"]))
            #expect(try Oracle.endpoints(sandbox).compactMap { $0["id"] as? String } == ["killed"])

            // Another container attached now never gets the address the leftover holds.
            let other = try Oracle.container(in: sandbox)
            let second = sandbox.berth(["attach", "web", "--netns", other, "--id", "second"])
            #expect(second.succeeded, "\(second)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: other) == ["10.40.0.3/24"])

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint killed"), "\(gc)")
            #expect(try Oracle.endpoints(sandbox).compactMap { $0["id"] as? String } == ["second"])
            // A deletion gc handed to a detached process may still be under way.
            #expect(Oracle.wait { Oracle.berthVeths(sandbox).count == 1 })
            #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("berth-endpoint killed "))

            // Its address is free again, and with the second one gone the kernel is as before.
            #expect(sandbox.berth(["detach", "second"]).succeeded)
            #expect(Oracle.wait { KernelSnapshot(sandbox, namespaces: [container]) == before },
                    "\(KernelSnapshot(sandbox, namespaces: [container]).difference(from: before))")
            let again = sandbox.berth(["attach", "web", "--netns", container, "--id", "again"])
            #expect(again.succeeded, "\(again)")
            #expect(Oracle.ipv4(sandbox, dev: "eth0", ns: container) == ["10.40.0.2/24"])

            let quiet = sandbox.berth(["gc"])
            #expect(quiet.succeeded && quiet.stdout.contains("nothing to remove"), "\(quiet)")
        }
    }

    @Test("check names a deleted veth and a deleted bridge and exits non-zero")
    func checkReportsMissingObjects() throws {
        try withHostSandbox { sandbox in
            let container = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--bridge", "brweb"]).succeeded)
            let attach = sandbox.berth(["attach", "web", "--netns", container, "--id", "victim"])
            try #require(attach.succeeded, "\(attach)")
            let healthy = sandbox.berth(["check"])
            #expect(healthy.succeeded && healthy.stdout == "ok\n", "\(healthy)")

            let veth = try #require(try Oracle.endpoints(sandbox).first?["hostVeth"] as? String)
            #expect(sandbox.run(["ip", "link", "del", veth]).succeeded)
            let noVeth = sandbox.berth(["check", "victim"])
            #expect(noVeth.status == 1, "\(noVeth)")
            #expect(noVeth.stderr.contains("endpoint victim: veth \(veth): missing"), "\(noVeth)")
            // The pair went together: the container lost its interface too.
            #expect(noVeth.stderr.contains("endpoint victim: interface eth0 in /run/netns/\(container): missing"), "\(noVeth)")

            #expect(sandbox.run(["ip", "link", "del", "brweb"]).succeeded)
            let noBridge = sandbox.berth(["check"])
            #expect(noBridge.status == 1, "\(noBridge)")
            #expect(noBridge.stderr.contains("network web: bridge brweb: missing"), "\(noBridge)")
            #expect(noBridge.stderr.contains("problem(s) found"), "\(noBridge)")
        }
    }
}
