import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth detach` and `berth port` with what `berth ps` shows: the first twelve hex digits of
/// a generated id, any other id in full; one prefix rule for both (`EndpointShortID`).
@Suite("berth CLI: detach by the id ps shows (kernel)", .enabled(if: try KernelTests.enabled))
struct DetachCLITests {
    @Test("the short id of ps detaches its endpoint; a short custom id is never read as a prefix; an unknown id is reported and succeeds; a prefix of several is refused")
    func shortIDs() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            func attach(_ extra: [String]) throws -> String {
                let ns = try #require(try sandbox.makeNamespace().name)
                let result = sandbox.berth(["attach", "web", "--netns", ns] + extra)
                try #require(result.succeeded, "\(result)")
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let generated = try attach(["-p", "8080:80"])
            #expect(generated.utf8.count == 64)
            _ = try attach(["--id", "c10"])
            _ = try attach(["--id", "c1"])
            // Two generated-form ids with the same first 12 digits, as ps shows both.
            let twinA = "aaaaaaaaaaaa1" + String(repeating: "0", count: 51), twinB = "aaaaaaaaaaaa2" + String(repeating: "0", count: 51)
            _ = try attach(["--id", twinA])
            _ = try attach(["--id", twinB])
            let ids = { () throws -> Set<String> in
                let listed = try JSONValue(parsing: sandbox.berth(["ps", "--json"]).stdout)
                return Set((listed.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            }
            // Host ends still attached (vb…): a detached one is renamed vd… and deleted by a
            // detached process after the command exits, so it may still be listed.
            let vethCount = {
                sandbox.run(["ip", "-o", "link", "show", "type", "veth"]).stdout.split(separator: "\n")
                    .filter { $0.split(separator: " ").dropFirst().first?.hasPrefix("vb") == true }.count
            }
            #expect(vethCount() == 5)

            let short = sandbox.berth(["detach", String(generated.prefix(12))])
            #expect(short.succeeded && short.stderr.isEmpty, "\(short)")
            #expect(try !ids().contains(generated))
            #expect(sandbox.berth(["port", String(generated.prefix(12))]).status == 1)

            // "c1" detached, then retried: the retry must not reach c10.
            #expect(sandbox.berth(["detach", "c1"]).succeeded)
            let retry = sandbox.berth(["detach", "c1"])
            #expect(retry.succeeded && retry.stderr.contains("no endpoint c1: nothing to detach"), "\(retry)")
            let unknown = sandbox.berth(["detach", "0123456789ab"])
            #expect(unknown.succeeded && unknown.stderr.contains("no endpoint 0123456789ab"), "\(unknown)")

            let ambiguous = sandbox.berth(["detach", "aaaaaaaaaaaa"])
            #expect(ambiguous.status == 1 && ambiguous.stderr.contains("ambiguous") && ambiguous.stderr.contains(twinA)
                    && ambiguous.stderr.contains(twinB), "\(ambiguous)")
            #expect(sandbox.berth(["port", "aaaaaaaaaaaa"]).status == 1)
            #expect(try ids() == ["c10", twinA, twinB])
            #expect(vethCount() == 3)
        }
    }

    @Test("ps shows a custom id in full; port and detach take it in full and never by a start of it")
    func customIDsInFull() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            let id = "my-long-endpoint-name"
            try #require(sandbox.berth(["attach", "web", "--netns", ns, "--id", id, "-p", "8081:80"]).succeeded)
            let table = sandbox.berth(["ps"])
            #expect(table.stdout.contains(id + " "), "\(table)")
            // The cut form ps used to show is no id: port refuses it, and detach leaves the endpoint be.
            #expect(sandbox.berth(["port", "my-long-endp"]).status == 1)
            let cut = sandbox.berth(["detach", "my-long-endp"])
            #expect(cut.succeeded && cut.stderr.contains("no endpoint my-long-endp"), "\(cut)")
            let port = sandbox.berth(["port", id])
            #expect(port.succeeded && port.stdout == "80/tcp -> 0.0.0.0:8081\n", "\(port)")
            #expect(sandbox.berth(["detach", id]).succeeded)
            #expect(!sandbox.berthWitness(["ps"]).contains(id))
        }
    }
}
