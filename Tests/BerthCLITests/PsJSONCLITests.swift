import BerthTestSupport
import Foundation
import Testing

/// `berth ps --json`: every row says what it is (`"kind"`), as a container's row always did.
@Suite("berth CLI: ps --json kinds (kernel)", .enabled(if: try KernelTests.enabled))
struct PsJSONCLITests {
    @Test("ps --json: an endpoint's row has \"kind\": \"endpoint\" beside its other keys; ps -q with --json is a usage error")
    func psKinds() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "web", "--netns", ns, "--id", "e1"]).succeeded)
            let ps = sandbox.berth(["ps", "--json"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]], "\(ps)")
            #expect(rows.count == 1 && rows[0]["kind"] as? String == "endpoint" && rows[0]["id"] as? String == "e1"
                    && rows[0]["hostVeth"] is String && rows[0]["network"] as? String == "web", "\(rows)")
            for argv in [["ps", "-q", "--json"], ["ps", "--quiet", "-a", "--json"]] {
                let both = sandbox.berth(argv)
                #expect(both.status == 64 && both.stdout.isEmpty && both.stderr.contains("--quiet and --json exclude each other"), "\(argv): \(both)")
            }
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }
}
