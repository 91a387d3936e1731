@testable import BerthRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing

/// The block keeps a write to a pipe without a reader from killing the process, takes the
/// SIGPIPE it raised off the thread, and leaves the thread's mask as it found it. A broken
/// block fails this suite by killing the test process.
@Suite struct PipeSignalBlockTests {
    /// Whether SIGPIPE is in this thread's blocked set.
    private static func pipeBlocked() -> Bool {
        var current = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &current)
        return sigismember(&current, SIGPIPE) == 1
    }

    private static func pipePending() -> Bool {
        var pending = sigset_t()
        sigpending(&pending)
        return sigismember(&pending, SIGPIPE) == 1
    }

    /// Writes to a pipe whose reading end is closed; returns the write's errno.
    private static func writeToClosedPipe() -> Int32 {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        defer { close(ends[1]) }
        let byte: [UInt8] = [1]
        let written = write(ends[1], byte, 1)
        return written < 0 ? errno : 0
    }

    @Test func aWriteWithoutAReaderFailsWithEPIPEAndLeavesNothingPending() {
        let block = PipeSignalBlock()
        #expect(Self.pipeBlocked())
        #expect(Self.writeToClosedPipe() == EPIPE)
        #expect(Self.pipePending())
        block.restore()
        #expect(!Self.pipeBlocked())
        #expect(!Self.pipePending())
    }

    @Test func aCallerWhoBlockedSIGPIPEKeepsItBlockedAndPending() {
        var pipeSet = sigset_t()
        sigemptyset(&pipeSet)
        sigaddset(&pipeSet, SIGPIPE)
        var saved = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSet, &saved)
        defer {
            var now = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSet, nil, &now)
            pthread_sigmask(SIG_SETMASK, &saved, nil)
        }
        let block = PipeSignalBlock()
        #expect(Self.writeToClosedPipe() == EPIPE)
        block.restore()
        // The caller's own block, and the signal its thread raised, are the caller's.
        #expect(Self.pipeBlocked())
        #expect(Self.pipePending())
    }
}
