import BerthCore
import BerthFakes
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// berth-oci-hook defers its WAL checkpoint to a process of its own (`berth-oci-hook
/// _checkpoint DIR`, Sources/BerthNetwork/State/CheckpointLauncher.swift), as the CLI's
/// attach and detach do.
@Suite("berth-oci-hook's deferred WAL checkpoints (kernel)", .enabled(if: try KernelTests.enabled))
struct HookCheckpointKernelTests {
    static func state(_ container: HookContainer, stage: String) -> String {
        container.state(status: stage == "poststop" ? "stopped" : "creating")
    }

    @Test("createRuntime leaves a due checkpoint to poststop until the WAL holds CheckpointLauncher.startPathFrames; a checkpoint a stage starts holds neither of the runtime's pipes; poststop calls keep the WAL short; the entry run directly empties the WAL, and only with exactly its two arguments")
    func checkpointsRunElsewhere() throws {
        try withHostSandbox { sandbox in
            let directory = sandbox.stateDirectory
            let wal = directory + "/state.db-wal"
            let first = try HookContainer(id: "first-\(KernelTests.uniqueSuffix())")
            defer { first.end() }
            let attached = Harness.hook(sandbox, "createRuntime", state: Self.state(first, stage: "createRuntime"), cwd: first.bundle)
            try #require(attached.succeeded, "\(attached)")

            // A reader on an old snapshot keeps a started checkpoint alive for a while (its
            // TRUNCATE waits up to 100 ms in SQLite's busy handler before it gives up).
            // `Harness.hook` reads the hook's stdout and stderr to their end before it returns:
            // a checkpoint process still alive then holds neither.
            let reader = try StateSnapshotHolder(directory: directory)
            var started: [Int32] = []
            var held: [HookContainer] = []
            defer { for container in held { container.end() } }
            // Past 64 frames a checkpoint is due, but createRuntime, on the container's start
            // path, leaves it to the next stage until the WAL is long (the reader keeps a
            // started one from emptying the WAL, so the length it started at stays).
            // Each call's decision is read from its trace; the process it started is looked for
            // in /proc until one is seen alive after its call returned (the reader keeps it
            // for ~100 ms; once the WAL is long, every call starts one).
            var left = 0
            for _ in 0..<60 where started.isEmpty {
                let container = try HookContainer(id: "held-\(KernelTests.uniqueSuffix())")
                held.append(container)
                let call = Harness.hook(sandbox, "createRuntime", state: Self.state(container, stage: "createRuntime"), cwd: container.bundle,
                                        environment: ["BERTH_TRACE=1"])
                try #require(call.succeeded, "\(call)")
                let decision = DeferredCheckpoints.decision(inTrace: call.stderr)
                #expect(DeferredCheckpoints.isStartPathDecision(decision, limit: CheckpointLauncher.startPathFrames), "\(String(describing: decision))")
                if case .left? = decision { left += 1 }
                if case .started? = decision { started = DeferredCheckpoints.processes(directory: directory) }
            }
            #expect(left > 0, "no createRuntime left a due checkpoint to the next stage")
            #expect(!started.isEmpty, "no checkpoint a createRuntime started was seen")
            reader.release()
            #expect(Harness.wait { DeferredCheckpoints.processes(directory: directory).isEmpty })
            // A runtime runs poststop once the container's process is gone.
            for container in held {
                container.end()
                #expect(Harness.hook(sandbox, "poststop", state: Self.state(container, stage: "poststop"), cwd: container.bundle).succeeded)
            }
            // poststop starts a due checkpoint at once: the WAL is short again.
            #expect(Harness.wait { DeferredCheckpoints.frames(ofWALAt: wal) <= 72 }, "WAL: \(DeferredCheckpoints.frames(ofWALAt: wal)) frames")

            // Eight ids, each run three times (a new process each time), stopped twice.
            let ids = (0..<8).map { _ in "c-\(KernelTests.uniqueSuffix())" }
            var containers: [HookContainer] = []
            defer { for container in containers { container.end() } }
            for round in 0..<3 {
                containers = try ids.map { try HookContainer(id: $0) }
                for container in containers {
                    let call = Harness.hook(sandbox, "createRuntime", state: Self.state(container, stage: "createRuntime"), cwd: container.bundle)
                    try #require(call.succeeded, "\(call)")
                }
                guard round < 2 else { break }
                for container in containers {
                    container.end()
                    let call = Harness.hook(sandbox, "poststop", state: Self.state(container, stage: "poststop"), cwd: container.bundle)
                    try #require(call.succeeded, "\(call)")
                }
                // Each call writes several frames: left alone the WAL would hold hundreds;
                // after the stops' checkpoints it is back under the threshold plus one transaction.
                #expect(Harness.wait { DeferredCheckpoints.frames(ofWALAt: wal) <= 72 }, "WAL: \(DeferredCheckpoints.frames(ofWALAt: wal)) frames")
            }
            let recorded = Harness.endpoints(sandbox).compactMap { $0["id"] as? String }.sorted()
            #expect(recorded == ([first.id] + ids).sorted())
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")

            // The entry the hook starts, run directly: a stage that cannot spawn it
            // checkpoints in-process, which the figures above would not tell apart.
            // The last calls' checkpoints first: a checkpoint gives up while another runs.
            #expect(Harness.wait { DeferredCheckpoints.processes(directory: directory).isEmpty })
            let checkpoint = sandbox.run([Harness.hookBinary, "_checkpoint", directory])
            #expect(checkpoint.succeeded && checkpoint.stdout.isEmpty && checkpoint.stderr.isEmpty, "\(checkpoint)")
            // Emptied, then started afresh by the checkpoint's own one-frame commit.
            #expect(DeferredCheckpoints.frames(ofWALAt: wal) == 1)
            // With another count of arguments it is a stage name like any other.
            let alone = sandbox.run([Harness.hookBinary, "_checkpoint"], input: "{}")
            #expect(alone.status == 2 && alone.stderr.contains("_checkpoint"), "\(alone)")
            let extra = sandbox.run([Harness.hookBinary, "_checkpoint", directory, "x"], input: "{}")
            #expect(extra.status == 2 && extra.stderr.contains("unexpected argument"), "\(extra)")
        }
    }
}

