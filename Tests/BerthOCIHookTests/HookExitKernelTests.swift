import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A stage's process hands its exit's teardown to a child sharing its memory
/// (`SystemKernel.lingerPastExit`, `berth_linger_memory_past_exit`): the runtime waits for the
/// hook's exit and its pipes, never for that child.
@Suite("berth-oci-hook's exit (kernel)", .enabled(if: try KernelTests.enabled))
struct HookExitKernelTests {
    @Test("createRuntime and poststop each start the teardown's child, which holds neither of the runtime's pipes and ends once the hook has")
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
                let child = try #require(Self.teardownChild(in: call.stderr), "no teardown child traced: \(call.stderr)")
                #expect(Harness.wait(seconds: 5) { !Self.isRunning(child) }, "the teardown's child \(child) of \(stage) still runs")
            }
        }
    }

    /// The pid of `exit's teardown handed to pid N` in a BERTH_TRACE=1 call's stderr.
    static func teardownChild(in stderr: String) -> Int32? {
        let marker = "exit's teardown handed to pid "
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains(marker) }),
              let range = line.range(of: marker) else { return nil }
        return Int32(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Whether `pid` is a process that has not ended (a zombie waiting for its reaper has).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}
