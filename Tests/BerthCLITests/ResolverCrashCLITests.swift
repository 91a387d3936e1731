import BerthTestSupport
import Foundation
import Testing

/// The resolver of a state directory when the attach that started it is killed before its
/// COMMIT (docs/dns.md, "Lifecycle"): the real `berth-dns` beside the `berth` under test.
@Suite("berth CLI: a resolver whose attach was killed before its COMMIT (kernel)", .enabled(if: try KernelTests.enabled), .serialized)
struct ResolverCrashCLITests {
    /// The `berth-dns` processes serving `stateDirectory` (`--state DIR` in their command line).
    static func resolvers(serving stateDirectory: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first?.hasSuffix("berth-dns") == true,
                  let flag = arguments.firstIndex(of: "--state"), arguments.indices.contains(flag + 1),
                  arguments[flag + 1] == stateDirectory else { return nil }
            return pid
        }.sorted()
    }

    @Test("an attach killed between starting berth-dns and its COMMIT leaves one resolver that gc records and the next attach uses: no second one, no failed bind; gc stops it once no network has DNS")
    func killedAttachBeforeCommit() throws {
        try withHostSandbox { sandbox in
            // Whatever happens, no resolver of this test outlives it (by pid, ours only).
            defer { for pid in Self.resolvers(serving: sandbox.stateDirectory) { kill(pid, SIGKILL) } }
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let first = try #require(try sandbox.makeNamespace().name)
            let marker = sandbox.stateDirectory + "/commit-reached"
            let attach = Process()
            attach.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            attach.arguments = sandbox.berthArguments(["attach", "web", "--netns", first, "--name", "one"])
            var environment = ProcessInfo.processInfo.environment
            for (key, value) in sandbox.berthEnvironment(["BERTH_FAILPOINT": "state.commit:hang", "BERTH_FAILPOINT_REACHED": marker]) {
                environment[key] = value
            }
            attach.environment = environment
            attach.standardOutput = FileHandle.nullDevice
            attach.standardError = FileHandle.nullDevice
            try attach.run()
            var waited = 0
            while !FileManager.default.fileExists(atPath: marker), attach.isRunning, waited < 3000 {
                usleep(10_000)
                waited += 1
            }
            try #require(FileManager.default.fileExists(atPath: marker), "the attach never reached its COMMIT")
            // What a runtime's timeout does: no rollback runs.
            kill(attach.processIdentifier, SIGKILL)
            attach.waitUntilExit()
            let orphans = Self.resolvers(serving: sandbox.stateDirectory)
            #expect(orphans.count == 1, "the killed attach started one resolver: \(orphans)")
            let check = sandbox.berth(["check"])
            #expect(check.stderr.contains("running without a record"), "\(check)")

            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            let second = try #require(try sandbox.makeNamespace().name)
            let again = sandbox.berth(["attach", "web", "--netns", second, "--name", "two"])
            #expect(again.succeeded, "\(again)")
            #expect(Self.resolvers(serving: sandbox.stateDirectory) == orphans, "one resolver, the same")
            let healthy = sandbox.berth(["check"])
            #expect(healthy.succeeded && healthy.stdout == "ok\n", "\(healthy)")
            // The adopted resolver serves the new name: it was told to reload after the commit
            // (a SIGHUP), and reloads as it gets to it, so the name is asked until it answers.
            var answer: CommandResult?
            let served = ContainerCLI.eventually(20) {
                answer = sandbox.run(["nsenter", "--net=/run/netns/\(second)", "--", "busybox", "nslookup", "two", "10.9.0.1"])
                return answer?.stdout.contains("Address: 10.9.0.2") == true
            }
            #expect(served, "\(String(describing: answer))")

            let endpoint = again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(sandbox.berth(["detach", endpoint]).succeeded)
            #expect(sandbox.berth(["network", "rm", "web"]).succeeded)
            let last = sandbox.berth(["gc"])
            #expect(last.succeeded, "\(last)")
            // A bound against hanging, not a timing claim.
            let gone = ContainerCLI.eventually(20) { Self.resolvers(serving: sandbox.stateDirectory).isEmpty }
            #expect(gone, "the resolver outlived the last network with DNS")
        }
    }
}
