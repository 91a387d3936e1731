import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth detach` with what `berth ps` shows: the first twelve hex digits of a generated id.
@Suite("berth CLI: detach by the id ps shows (kernel)", .enabled(if: KernelTests.enabled))
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
            _ = try attach(["--id", "aaaaaaaaaaaa1"])
            _ = try attach(["--id", "aaaaaaaaaaaa2"])
            let ids = { () throws -> Set<String> in
                let listed = try JSONValue(parsing: sandbox.berth(["ps", "--json"]).stdout)
                return Set((listed.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            }
            let vethCount = { sandbox.run(["ip", "-o", "link", "show", "type", "veth"]).stdout.split(separator: "\n").count }
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
            #expect(ambiguous.status == 1 && ambiguous.stderr.contains("ambiguous"), "\(ambiguous)")
            #expect(try ids() == ["c10", "aaaaaaaaaaaa1", "aaaaaaaaaaaa2"])
            #expect(vethCount() == 3)
        }
    }
}
