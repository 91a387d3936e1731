import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// Fail points (debug builds) work only in the binary built beside the tests.
private let failPointsCompiledIn = Command.berthBinary.contains("/debug/")

/// `kill -9` in the middle of a detach, at each of its steps, then `gc` (issue 12).
@Suite("detach crash recovery (kernel)", .enabled(if: try KernelTests.enabled))
struct DetachCrashKernelTests {
    @Test("SIGKILL at each step of a detach, then gc: every record has its objects and every object its record; leases and ports are free",
          .enabled(if: failPointsCompiledIn),
          arguments: ["detach.mark", "detach.unpublish", "detach.unplug", "detach.delete", "detach.forget"])
    func killedDetach(step: String) throws {
        try withHostSandbox { sandbox in
            // A /29: five endpoint addresses, all taken.
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.44.0.0/29", "--bridge", "brweb"]).succeeded)
            let containers = try (1...5).map { n in
                try CLIContainer(sandbox, network: "web", id: "e\(n)", ports: n == 1 ? ["8080:80", "5353:53/udp"] : [])
            }
            let full = sandbox.berth(["attach", "web", "--netns", try sandbox.makeNamespace().name ?? "", "--id", "e6"])
            #expect(full.status == 1 && full.stderr.contains("no free address"), "\(full)")

            let marker = sandbox.stateDirectory + "/reached"
            let detach = try BerthProcess(sandbox, ["detach", "e1"],
                                          environment: ["BERTH_FAILPOINT": step + ":hang", "BERTH_FAILPOINT_REACHED": marker])
            let reached = Oracle.wait { FileManager.default.fileExists(atPath: marker) }
            #expect(kill(detach.pid, SIGKILL) == 0)
            let ended = detach.wait()
            try #require(reached, "the detach never reached \(step): \(ended)")
            #expect(ended.killed && ended.status == SIGKILL, "\(ended)")

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint e1"), "\(gc)")

            // No record without its kernel objects, no kernel object without its record.
            let endpoints = try Oracle.endpoints(sandbox)
            #expect(endpoints.compactMap { $0["id"] as? String }.sorted() == ["e2", "e3", "e4", "e5"])
            let recorded = Set(endpoints.compactMap { $0["hostVeth"] as? String })
            func veths() -> Set<String> {
                Set(Oracle.ip(sandbox, ["link", "show", "type", "veth"]).compactMap { $0["ifname"] as? String }
                    .filter { $0.hasPrefix("vb") || $0.hasPrefix("vd") })
            }
            // A deletion gc handed to a detached process may still be under way.
            #expect(Oracle.wait { veths() == recorded }, "\(veths()) vs \(recorded)")
            #expect(Oracle.wait { Command.run(["ip", "-n", containers[0].name, "-o", "link", "show"]).stdout.split(separator: "\n").count == 1 })
            let ruleset = sandbox.run(["nft", "list", "ruleset"]).stdout
            #expect(!ruleset.contains("berth-endpoint e1 "), "\(ruleset)")
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")

            // Its address and ports are free: the same id attaches again with the same ports,
            // which fills the /29 again.
            let again = sandbox.berth(["attach", "web", "--netns", containers[0].name, "--id", "e1", "-p", "8080:80", "-p", "5353:53/udp"])
            #expect(again.succeeded, "\(again)")
            #expect((try? Probe.request(from: sandbox.namespace, to: "10.44.0.1", port: 8080))?.hasPrefix("e1 ") == true)
            let stillFull = sandbox.berth(["attach", "web", "--netns", try sandbox.makeNamespace().name ?? "", "--id", "e6"])
            #expect(stillFull.status == 1 && stillFull.stderr.contains("no free address"), "\(stillFull)")
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }

    @Test("detach returns before the kernel has deleted the pair, and the same id attaches again right away in the same namespace")
    func reattachRightAway() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.45.0.0/24", "--bridge", "brweb"]).succeeded)
            let container = try CLIContainer(sandbox, network: "web", id: "c1", ports: ["8080:80"])
            for _ in 0..<5 {
                let detach = sandbox.berth(["detach", "c1"])
                try #require(detach.succeeded, "\(detach)")
                let attach = sandbox.berth(["attach", "web", "--netns", container.name, "--id", "c1", "-p", "8080:80"])
                try #require(attach.succeeded, "\(attach)")
                #expect((try? Probe.request(from: sandbox.namespace, to: "10.45.0.1", port: 8080))?.hasPrefix("c1 ") == true)
            }
            // Every handed-off deletion finishes: only the live pair is left.
            #expect(Oracle.wait { Oracle.ip(sandbox, ["link", "show", "type", "veth"]).count == 1 })
            #expect(Oracle.wait { Command.run(["ip", "-n", container.name, "-o", "link", "show"]).stdout.split(separator: "\n").count == 2 })
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }

    /// Makes, inside `container`, a veth pair whose first end has the name its eth0 gets on
    /// detach (`vd` and eth0's index in 8 hex digits, which the container sees), as a
    /// container with CAP_NET_ADMIN in its namespace can.
    private func squat(_ container: CLIContainer, in sandbox: HostSandbox) throws -> String {
        let index = try #require(Oracle.ip(sandbox, ["link", "show", "eth0"], ns: container.name).first?["ifindex"] as? Int)
        var hex = String(index, radix: 16)
        while hex.count < 8 { hex = "0" + hex }
        let name = "vd" + hex
        let made = Command.run(["ip", "-n", container.name, "link", "add", name, "type", "veth", "peer", "name", "squat" + container.id])
        try #require(made.succeeded, "\(made)")
        return name
    }

    @Test("a container holding the name its interface would be renamed to on detach blocks neither detach nor gc: the pair is deleted there and then")
    func renameTargetTaken() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.49.0.0/24", "--bridge", "brweb"]).succeeded)
            let c1 = try CLIContainer(sandbox, network: "web", id: "c1", ports: ["8080:80"])
            let c2 = try CLIContainer(sandbox, network: "web", id: "c2")
            let squat1 = try squat(c1, in: sandbox), squat2 = try squat(c2, in: sandbox)
            let detach = sandbox.berth(["detach", "c1"])
            #expect(detach.succeeded, "\(detach)")
            if failPointsCompiledIn {
                // An interrupted detach, which gc finishes.
                let failed = sandbox.berth(["detach", "c2"], environment: ["BERTH_FAILPOINT": "detach.mark"])
                #expect(failed.status == 1, "\(failed)")
                let gc = sandbox.berth(["gc"])
                #expect(gc.succeeded && gc.stdout.contains("removed endpoint c2"), "\(gc)")
            } else {
                #expect(sandbox.berth(["detach", "c2"]).succeeded)
            }
            #expect(try Oracle.endpoints(sandbox).isEmpty)
            #expect(Oracle.ip(sandbox, ["link", "show", "type", "veth"]).isEmpty)
            // Each container keeps its own links, and nothing of Berth's.
            for (container, name) in [(c1, squat1), (c2, squat2)] {
                let names = Oracle.ip(sandbox, ["link", "show"], ns: container.name).compactMap { $0["ifname"] as? String }.sorted()
                #expect(names == ["lo", name, "squat" + container.id].sorted(), "\(names)")
            }
            #expect(!sandbox.run(["nft", "list", "ruleset"]).stdout.contains("berth-endpoint c1 "))
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }
}
