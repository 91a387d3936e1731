import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A stage's process hands its exit's teardown to a child sharing its memory
/// (`SystemKernel.lingerPastExit`, `berth_linger_memory_past_exit`). What a test can see is
/// that the hand-over costs the runtime nothing: the hook's pipes end with it and no child of
/// it outlives it. That the exit no longer unmaps the memory itself is a matter of time, which
/// the benchmark measures (docs/performance.md, "The exit's teardown"), not this test.
@Suite("berth-oci-hook's exit (kernel)", .enabled(if: try KernelTests.enabled))
struct HookExitKernelTests {
    @Test("after createRuntime and poststop, which hand their exit's teardown to a child, the runtime's pipes end with the hook and no child of it runs on")
    func teardownHandedOver() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "exit-\(KernelTests.uniqueSuffix())")
            defer { container.end() }
            for stage in ["createRuntime", "poststop"] {
                if stage == "poststop" { container.end() }
                // Harness.hook returns once the hook has exited and both of its pipes are at
                // their end: a child holding either would keep it waiting.
                let call = Harness.hook(sandbox, stage, state: container.state(status: stage == "poststop" ? "stopped" : "creating"),
                                        cwd: container.bundle, environment: ["BERTH_TRACE=1"])
                try #require(call.succeeded, "\(call)")
                #expect(call.stderr.contains("exit's teardown handed to a child"), "\(call.stderr)")
                // The child shares the hook's memory, so its environment is the hook's: once it
                // has ended, no process has the sandbox's state directory in its environment
                // (a deferred checkpoint's process has it too, and ends as well).
                #expect(Harness.wait(seconds: 5) { Self.processes(withEnvironment: "BERTH_STATE_DIR=\(sandbox.stateDirectory)").isEmpty },
                        "a child of \(stage) still runs")
            }
        }
    }

    /// The running processes (not zombies) whose environment holds `entry`.
    static func processes(withEnvironment entry: String) -> [Int32] {
        let wanted = Array(entry.utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> Int32? in
            guard let pid = Int32(name), isRunning(pid),
                  let environment = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { return nil }
            return environment.split(separator: 0).contains { Array($0) == wanted } ? pid : nil
        }
    }

    /// Whether `pid` is a process that has not ended (a zombie waiting for its reaper has).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}
