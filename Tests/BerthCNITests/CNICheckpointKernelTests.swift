import BerthCore
import BerthFakes
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// berth-cni defers its WAL checkpoint to a process of its own (`berth-cni _checkpoint DIR`,
/// Sources/BerthNetwork/State/CheckpointLauncher.swift), as the CLI's attach and detach do.
@Suite("berth-cni's deferred WAL checkpoints (kernel)", .enabled(if: try KernelTests.enabled))
struct CNICheckpointKernelTests {
    @Test("ADD leaves a due checkpoint to DEL until the WAL holds CheckpointLauncher.startPathFrames; a checkpoint an ADD starts holds neither of the runtime's pipes; DELs keep the WAL short, and every record stays; the entry run directly empties the WAL, and only with exactly its two arguments")
    func checkpointsRunElsewhere() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let directory = sandbox.stateDirectory
            let wal = directory + "/state.db-wal"
            let config = cni.config(extra: #""subnet":"10.79.0.0/24""#)
            let first = try sandbox.makeNamespace()
            try #require(cni.run("ADD", config, containerID: "first", netns: first.path).status == 0)

            // A reader on an old snapshot keeps a started checkpoint alive for a while (its
            // TRUNCATE waits up to 100 ms in SQLite's busy handler before it gives up).
            // `run` reads the plugin's stdout and stderr to their end before it returns:
            // a checkpoint process still alive then holds neither.
            let reader = try StateSnapshotHolder(directory: directory)
            var started: [Int32] = []
            var held: [String] = []
            // Past 64 frames a checkpoint is due, but ADD, on the container's start path,
            // leaves it to the next command until the WAL is long (the reader keeps a started
            // one from emptying the WAL, so the length it started at stays).
            // Each ADD's decision is read from its trace; the process it started is looked for
            // in /proc until one is seen alive after its ADD returned (the reader keeps it
            // for ~100 ms; once the WAL is long, every ADD starts one).
            var left = 0
            for n in 0..<60 where started.isEmpty {
                let container = try sandbox.makeNamespace()
                let add = cni.run("ADD", config, containerID: "held\(n)", netns: container.path, environment: ["BERTH_TRACE=1"])
                try #require(add.status == 0, "\(add)")
                held.append("held\(n)")
                let decision = DeferredCheckpoints.decision(inTrace: add.result.stderr)
                #expect(DeferredCheckpoints.isStartPathDecision(decision, limit: CheckpointLauncher.startPathFrames), "\(String(describing: decision))")
                if case .left? = decision { left += 1 }
                if case .started? = decision { started = DeferredCheckpoints.processes(directory: directory) }
            }
            #expect(left > 0, "no ADD left a due checkpoint to the next command")
            #expect(!started.isEmpty, "no checkpoint an ADD started was seen")
            reader.release()
            #expect(Poll.wait { DeferredCheckpoints.processes(directory: directory).isEmpty })
            for id in held { #expect(cni.run("DEL", config, containerID: id).status == 0) }
            // DEL starts a due checkpoint at once: the WAL is short again.
            #expect(Poll.wait { DeferredCheckpoints.frames(ofWALAt: wal) <= 72 }, "WAL: \(DeferredCheckpoints.frames(ofWALAt: wal)) frames")

            let containers = try (0..<12).map { _ in try sandbox.makeNamespace() }
            for round in 0..<3 {
                for (n, container) in containers.enumerated() {
                    let add = cni.run("ADD", config, containerID: "c\(n)", netns: container.path)
                    try #require(add.status == 0, "\(add)")
                }
                guard round < 2 else { break }
                for n in containers.indices {
                    let del = cni.run("DEL", config, containerID: "c\(n)", netns: containers[n].path)
                    try #require(del.status == 0, "\(del)")
                }
                // Each call writes several frames: left alone the WAL would hold hundreds;
                // after the DELs' checkpoints it is back under the threshold plus one transaction.
                #expect(Poll.wait { DeferredCheckpoints.frames(ofWALAt: wal) <= 72 }, "WAL: \(DeferredCheckpoints.frames(ofWALAt: wal)) frames")
            }
            let ids = (parseList(sandbox.berth(["ps", "--json"]).stdout)).compactMap { $0["id"] as? String }.sorted()
            #expect(ids == (["first-eth0"] + containers.indices.map { "c\($0)-eth0" }).sorted())
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")

            // The entry the plugin starts, run directly: an ADD that cannot spawn it
            // checkpoints in-process, which the figures above would not tell apart.
            // The last calls' checkpoints first: a checkpoint gives up while another runs.
            #expect(Poll.wait { DeferredCheckpoints.processes(directory: directory).isEmpty })
            let checkpoint = sandbox.run([CNIHarness.binary, "_checkpoint", directory])
            #expect(checkpoint.succeeded && checkpoint.stdout.isEmpty && checkpoint.stderr.isEmpty, "\(checkpoint)")
            // Emptied, then started afresh by the checkpoint's own one-frame commit.
            #expect(DeferredCheckpoints.frames(ofWALAt: wal) == 1)
            // With another count of arguments it is a plugin call like any other (here
            // without CNI_COMMAND), never a checkpoint.
            let extra = sandbox.run([CNIHarness.binary, "_checkpoint", directory, "x"], input: config)
            #expect(extra.status == 1 && extra.stdout.contains("CNI_COMMAND"), "\(extra)")
        }
    }
}

/// The JSON array `berth ps --json` prints.
private func parseList(_ text: String) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
}
