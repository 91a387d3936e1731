import BerthTestSupport
import Foundation
import Testing

/// The subnet guard an earlier Berth gave a network on an adopted bridge (`--bridge-existing`),
/// which gets none now: `check` reports it as stale, `reconcile` deletes it from the kernel's
/// table — that rule alone — and says so. In the sandbox's own namespace.
@Suite("berth CLI: stale guard of an adopted network (kernel)", .enabled(if: try KernelTests.enabled))
struct StaleGuardCLITests {
    @Test("check reports the adopted network's old guard as stale; reconcile removes it and nothing else; check is clean after")
    func staleGuard() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.run(["ip", "link", "add", "lanbr", "type", "bridge"]).succeeded)
            try #require(sandbox.run(["ip", "link", "set", "lanbr", "up"]).succeeded)
            try #require(sandbox.run(["ip", "addr", "add", "192.168.77.10/24", "dev", "lanbr"]).succeeded)
            let created = sandbox.berth(["network", "create", "lan", "--bridge", "lanbr", "--bridge-existing", "--subnet", "192.168.77.0/24"])
            try #require(created.succeeded, "\(created)")
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.77.0.0/24"]).succeeded)
            let before = sandbox.run(["nft", "list", "table", "ip", "berth"]).stdout
            // The instance's tag, from the adopted network's masquerade rule.
            let tag = try #require(before.split(separator: "\n").lazy.compactMap { line -> String? in
                guard line.contains("oifname != \"lanbr\" masquerade"), let start = line.range(of: "comment \"") else { return nil }
                return String(line[start.upperBound...].dropLast())
            }.first, "\(before)")
            #expect(!before.contains("ip daddr 192.168.77.0/24"), "an adopted network gets no guard now: \(before)")
            let added = sandbox.run(["nft", "add", "rule", "ip", "berth", "guard", "ip", "daddr", "192.168.77.0/24", "iifname", "!=", "lanbr", "drop",
                                     "comment", "\"\(tag)\""])
            try #require(added.succeeded, "\(added)")

            let rule = "rule 'ip daddr 192.168.77.0/24 iifname != \"lanbr\" drop comment \"\(tag)\"' in chain guard"
            let check = sandbox.berth(["check"])
            #expect(!check.succeeded && check.stderr.contains("network lan: \(rule): stale (run 'berth reconcile')"), "\(check)")
            let reconcile = sandbox.berth(["reconcile"])
            #expect(reconcile.succeeded && reconcile.stdout.contains("removed network lan: \(rule)\n"), "\(reconcile)")
            let after = sandbox.run(["nft", "list", "table", "ip", "berth"]).stdout
            #expect(!after.contains("ip daddr 192.168.77.0/24"), "\(after)")
            // web's guard, the static rules and lan's masquerade stay.
            #expect(after.contains("ip daddr 10.77.0.0/24 iifname != ") && after.contains("loopback only from lo")
                && after.contains("oifname != \"lanbr\" masquerade"), "\(after)")
            let clean = sandbox.berth(["check"])
            #expect(clean.succeeded, "\(clean)")
        }
    }
}
