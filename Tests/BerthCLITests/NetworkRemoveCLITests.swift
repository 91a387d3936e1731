import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("berth CLI: network rm of several (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkRemoveCLITests {
    @Test("network rm goes on past a network with endpoints, removes the others and exits 1 naming the refusal")
    func goesOn() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "busy", "--subnet", "10.9.0.0/24"]).succeeded)
            try #require(sandbox.berth(["network", "create", "idle", "--subnet", "10.9.1.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "busy", "--netns", ns, "--id", "e1"]).succeeded)
            let result = sandbox.berth(["network", "rm", "busy", "idle"])
            #expect(result.status == 1 && result.stderr.contains("busy") && result.stderr.contains("e1"), "\(result)")
            #expect(result.stdout == "idle\n")
            let left = sandbox.berth(["network", "ls"]).stdout
            #expect(left.contains("busy") && !left.contains("idle"), "\(left)")
        }
    }
}
