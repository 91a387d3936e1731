import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth network prune`, as `docker network prune`.
@Suite("berth CLI: network prune (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkPruneCLITests {
    @Test("network prune -f removes the networks without endpoints, never the default one, prints their names, without asking")
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
            let again = sandbox.berth(["network", "prune", "--force"])
            #expect(again.succeeded && again.stdout.isEmpty, "\(again)")
        }
    }

    static let question = "WARNING! This will remove all custom networks not used by at least one container.\n"
        + "Are you sure you want to continue? [y/N] "

    @Test("without -f it asks on stderr, as docker: no answer (stdin at its end) or anything but y/yes removes nothing and exits 0; y or YES removes")
    func confirmation() throws {
        try withHostSandbox { sandbox in
            func names() throws -> [String] {
                let list = try JSONSerialization.jsonObject(with: Data(sandbox.berth(["network", "ls", "--json"]).stdout.utf8)) as? [[String: Any]]
                return list?.compactMap { $0["name"] as? String } ?? []
            }
            try #require(sandbox.berth(["network", "create", "idle", "--subnet", "10.9.1.0/24"]).succeeded)
            // Command.run's stdin is a pipe: empty here, "n\n", "nope\n" below.
            for input in [nil, "n\n", "nope\n", "\n", "yess\n"] as [String?] {
                let refused = Command.run(sandbox.berthArguments(["network", "prune"]), input: input, environment: sandbox.berthEnvironment())
                #expect(refused.succeeded && refused.stdout.isEmpty, "\(String(describing: input)): \(refused)")
                #expect(refused.stderr.hasPrefix(Self.question) && refused.stderr.contains("berth: network prune cancelled: nothing was removed"),
                        "\(String(describing: input)): \(refused)")
                #expect(try names() == ["idle"])
            }
            let yes = Command.run(sandbox.berthArguments(["network", "prune"]), input: "y\n", environment: sandbox.berthEnvironment())
            #expect(yes.succeeded && yes.stdout == "idle\n" && yes.stderr == Self.question, "\(yes)")
            #expect(try names().isEmpty)
            try #require(sandbox.berth(["network", "create", "spare", "--subnet", "10.9.2.0/24"]).succeeded)
            let upper = Command.run(sandbox.berthArguments(["network", "prune"]), input: " YES \n", environment: sandbox.berthEnvironment())
            #expect(upper.succeeded && upper.stdout == "spare\n", "\(upper)")
        }
    }
}
