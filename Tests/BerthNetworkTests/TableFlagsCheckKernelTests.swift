import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// `check` reads the table's flags: a dormant `ip berth` holds every rule and element but
/// hooks no chain, so nothing is published or masqueraded.
@Suite("table flags and check (kernel)", .enabled(if: try KernelTests.enabled))
struct TableFlagsCheckKernelTests {
    @Test("check reports a dormant ip berth table; a network create is refused while it is")
    func dormantReported() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.44.0.0/24", "--bridge", "brweb"]).succeeded)
            let healthy = sandbox.berth(["check"])
            #expect(healthy.succeeded, "\(healthy)")
            let dormant = sandbox.run(["nft", "add", "table", "ip", "berth", "{ flags dormant; }"])
            try #require(dormant.succeeded, "\(dormant)")
            let check = sandbox.berth(["check"])
            #expect(check.status == 1, "\(check)")
            #expect((check.stdout + check.stderr).contains("table is dormant (flag dormant): its chains see no packets"), "\(check)")
            let create = sandbox.berth(["network", "create", "db", "--subnet", "10.45.0.0/24", "--bridge", "brdb"])
            #expect(!create.succeeded && create.stderr.contains("dormant"), "\(create)")
        }
    }
}
