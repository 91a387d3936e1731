@testable import BerthRun
import BerthNamespace
import Foundation
import Testing

/// The descriptor of `berth-init` a `--init` container's PID 1 execs (InitExecutable).
@Suite("InitExecutable")
struct InitExecutableTests {
    /// Whether `berth-init` is built beside the test binary, where InitExecutable looks.
    static var built: Bool {
        SealedExecutable.sibling(InitExecutable.name).map { FileManager.default.isExecutableFile(atPath: $0) } ?? false
    }

    /// In a caller started with stdin closed (an exit test's own process, which this closes),
    /// the descriptor would be opened as 0, where the child installs the container's stdin
    /// and which the init closes before it execs it. It is moved above stdio.
    @Test("opened above stdio even when 0 is free", .enabled(if: Self.built))
    func aboveStdio() async {
        await #expect(processExitsWith: .exitCode(0)) {
            close(0)
            let fd = InitExecutable.open()
            // 0 and nothing else open on it: the descriptor did not stay at 0.
            exit(fd < 0 ? 2 : fd < 3 ? 1 : fcntl(0, F_GETFD) == -1 ? 0 : 3)
        }
    }
}
