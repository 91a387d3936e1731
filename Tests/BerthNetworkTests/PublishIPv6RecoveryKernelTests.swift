import BerthTestSupport
import Foundation
import Testing

/// A dual-stack attach with a published port killed after its elements went into both
/// tables (issue 15: "SIGKILL during a dual-stack attach, then gc: nothing left, both leases
/// free"), through the debug binary's fail points.
@Suite("Publishing over IPv6: recovery (kernel)", .enabled(if: try KernelTests.enabled && Command.berthBinary.contains("/debug/")))
struct PublishIPv6RecoveryKernelTests {
    @Test("SIGKILL after the elements of both tables were added: gc removes them and the veth; both leases are free")
    func gcAfterKill() throws {
        try withHostSandbox { sandbox in
            let container = try Oracle.container(in: sandbox)
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.40.0.0/24", "--subnet", "fd00:40::/64"]).succeeded)
            let before = KernelSnapshot(sandbox, namespaces: [container])

            let attach = try BerthProcess(sandbox, ["attach", "web", "--netns", container, "-p", "8080:80"],
                                          environment: ["BERTH_FAILPOINT": "attach.publish:hang"])
            let reached = Oracle.wait {
                sandbox.nftTable("ip6").contains("berth-endpoint ") && sandbox.nftTable("ip").contains("berth-endpoint ")
            }
            #expect(kill(attach.pid, SIGKILL) == 0)
            let ended = attach.wait()
            try #require(reached, "the attach never published its ports: \(ended)")
            // The lease was committed, marked, before the kernel work: both addresses stay
            // taken until gc finishes the record.
            let killed = try Oracle.endpoints(sandbox)
            #expect(killed.count == 1 && killed.first?["ip6"] as? String == "fd00:40::2", "\(killed)")
            let id = try #require(killed.first?["id"] as? String)

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            #expect(gc.stdout.contains("removed endpoint \(id)"), "\(gc)")
            #expect(!sandbox.nftTable("ip6").contains("berth-endpoint "))
            #expect(!sandbox.nftTable("ip").contains("berth-endpoint "))
            // A deletion gc handed to a detached process may still be under way.
            #expect(Oracle.wait { KernelSnapshot(sandbox, namespaces: [container]) == before },
                    "\(KernelSnapshot(sandbox, namespaces: [container]).difference(from: before))")

            let again = sandbox.berth(["attach", "web", "--netns", container, "-p", "8080:80"])
            #expect(again.succeeded, "\(again)")
            let endpoint = try #require(try Oracle.endpoints(sandbox).first)
            #expect(endpoint["ip"] as? String == "10.40.0.2" && endpoint["ip6"] as? String == "fd00:40::2", "\(endpoint)")
        }
    }
}
