import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth network prune`, as `docker network prune`.
@Suite("berth CLI: network prune (kernel)", .enabled(if: KernelTests.enabled))
struct NetworkPruneCLITests {
    @Test("network prune removes the networks without endpoints, never the default one, prints their names; -f is accepted")
    func prune() throws {
        try withHostSandbox { sandbox in
            for (name, subnet) in [("busy", "10.9.0.0/24"), ("idle", "10.9.1.0/24"), ("spare", "10.9.2.0/24"), ("berth", "10.9.3.0/24")] {
                try #require(sandbox.berth(["network", "create", name, "--subnet", subnet]).succeeded)
            }
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "busy", "--netns", ns, "--id", "e1"]).succeeded)
            let prune = sandbox.berth(["network", "prune", "-f"])
            #expect(prune.succeeded && prune.stdout == "idle\nspare\n", "\(prune)")
            let left = try JSONSerialization.jsonObject(with: Data(sandbox.berth(["network", "ls", "--json"]).stdout.utf8)) as? [[String: Any]]
            #expect(left?.compactMap { $0["name"] as? String } == ["berth", "busy"])
            #expect(Set(CLIOracle.bridgeNames(sandbox)).count == 2)
            let again = sandbox.berth(["network", "prune"])
            #expect(again.succeeded && again.stdout.isEmpty, "\(again)")
        }
    }
}
