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
            guard fd >= 0 else { exit(2) }
            guard fd >= 3 else { exit(1) }
            // Nor left a copy at 0: whatever another thread of this process may have opened
            // there since (the exit test's own machinery can), it is not berth-init's file.
            var opened = stat(), zero = stat()
            guard fstat(fd, &opened) == 0 else { exit(4) }
            let leaked = fstat(0, &zero) == 0 && zero.st_dev == opened.st_dev && zero.st_ino == opened.st_ino
            exit(leaked ? 3 : 0)
        }
    }
}
