import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// `berth attach` and `detach` defer the WAL checkpoint to a process of their own
/// (`berth _checkpoint DIR`, Sources/BerthCommandLine/CheckpointLauncher.swift).
@Suite("the CLI's deferred WAL checkpoints (kernel)", .enabled(if: try KernelTests.enabled))
struct CheckpointKernelTests {
    @Test("36 attaches and 24 detaches through the CLI, hundreds of WAL frames: the checkpoints they start keep the WAL short, and every record and object stays")
    func checkpointsRunElsewhere() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.46.0.0/24", "--bridge", "brweb", "--dns", "false"]).succeeded)
            let wal = sandbox.stateDirectory + "/state.db-wal"
            let names = try (0..<12).map { _ in try #require(try sandbox.makeNamespace().name) }
            // Each command's decision about a due checkpoint, from its trace: an attach leaves
            // it to the next command until the WAL holds CheckpointLauncher.startPathFrames, a
            // detach starts it at once.
            var left = 0
            for round in 0..<3 {
                for (n, name) in names.enumerated() {
                    let attach = sandbox.berth(["attach", "web", "--netns", name, "--id", "e\(n)", "-p", "\(9000 + n):80"], environment: ["BERTH_TRACE": "1"])
                    try #require(attach.succeeded, "\(attach)")
                    let decision = DeferredCheckpoints.decision(inTrace: attach.stderr)
                    #expect(DeferredCheckpoints.isStartPathDecision(decision, limit: CheckpointLauncher.startPathFrames), "\(String(describing: decision))")
                    if case .left? = decision { left += 1 }
                }
                guard round < 2 else { break }
                for n in names.indices {
                    let detach = sandbox.berth(["detach", "e\(n)"], environment: ["BERTH_TRACE": "1"])
                    try #require(detach.succeeded, "\(detach)")
                    if case .left? = DeferredCheckpoints.decision(inTrace: detach.stderr) {
                        Issue.record("a detach left a due checkpoint to the next command: \(detach.stderr)")
                    }
                }
                // Each attach or detach writes several frames: left alone the WAL would hold
                // hundreds. Attaches leave a due checkpoint to the next detach (until the WAL
                // holds CheckpointLauncher.startPathFrames); after the detaches' checkpoints
                // it is back under the threshold plus one transaction.
                #expect(Oracle.wait { StateWALTests.frames(ofWALAt: wal) <= 72 }, "WAL: \(StateWALTests.frames(ofWALAt: wal)) frames")
            }
            #expect(left > 0, "no attach left a due checkpoint to the next command")
            let endpoints = try Oracle.endpoints(sandbox)
            #expect(endpoints.compactMap { $0["id"] as? String }.sorted() == names.indices.map { "e\($0)" }.sorted())
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")
            // The entry the commands start, run directly: an attach that cannot spawn it
            // checkpoints in-process, which the figures above would not tell apart. It
            // empties the WAL (a TRUNCATE checkpoint) and starts it afresh with a commit of
            // its own: one frame (`Database.startWAL`).
            let checkpoint = sandbox.berth(["_checkpoint", sandbox.stateDirectory])
            #expect(checkpoint.succeeded && checkpoint.stdout.isEmpty, "\(checkpoint)")
            #expect(StateWALTests.frames(ofWALAt: wal) == 1)
        }
    }
}
