@testable import BerthRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Testing

/// `FileIO.writeAll` to a caller's descriptor that is in non-blocking mode (a stdout whose
/// open file another process set O_NONBLOCK on): a full pipe is waited on, not a failure —
/// the relay used to drop such a sink for the rest of the run at the first EAGAIN.
@Suite struct FileIOTests {
    /// A pipe whose write end is non-blocking, both ends close-on-exec.
    private func nonBlockingPipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        return (ends[0], ends[1])
    }

    @Test("a write larger than a non-blocking pipe holds waits for the reader and delivers every byte in order")
    func fullPipeWaits() throws {
        let ends = try nonBlockingPipe()
        defer { close(ends.read) }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        // The reader starts late, so the first writes fill the pipe (64 KiB) and hit EAGAIN.
        let reader = Thread.detachNewThreadWithResult {
            usleep(200_000)
            return FileIO.readAll(ends.read, limit: 2 << 20)
        }
        let wrote = FileIO.writeAll(ends.write, bytes)
        close(ends.write)
        #expect(wrote)
        #expect(reader.value() == bytes)
    }

    @Test("while a write waits on a stalled reader, the caller's duties run every 100 ms at most (a stop's deadline is not held up)")
    func waitingRunsDuties() throws {
        let ends = try nonBlockingPipe()
        defer { close(ends.read); close(ends.write) }
        let bytes = [UInt8](repeating: 7, count: 1 << 20)
        var ticks = 0
        let stalled = FileIO.writeAll(ends.write, bytes, stalled: .seconds(2)) { ticks += 1 }
        #expect(!stalled)
        // 2 s of waiting in polls of at most 100 ms (each up to 1 s before): a slow machine
        // may stretch some polls, not most of twenty.
        #expect(ticks >= 3, "\(ticks) calls")
    }

    @Test("a non-blocking pipe nobody reads fails once the stall limit passes, with EAGAIN; a closed one at once, with EPIPE")
    func stalledAndClosed() throws {
        let ends = try nonBlockingPipe()
        let bytes = [UInt8](repeating: 7, count: 1 << 20)
        let stalled = FileIO.writeAll(ends.write, bytes, stalled: .milliseconds(50))
        let stalledError = errno
        #expect(!stalled && stalledError == EAGAIN)
        close(ends.read)
        let block = PipeSignalBlock()
        defer { block.restore() }
        let closed = FileIO.writeAll(ends.write, [1])
        let closedError = errno
        #expect(!closed && closedError == EPIPE)
        close(ends.write)
    }
}

/// A thread's result, for a test that waits on it.
final class ThreadResult<Value: Sendable>: @unchecked Sendable {
    private let done = NSCondition()
    private var result: Value?

    func set(_ value: Value) {
        done.lock()
        result = value
        done.signal()
        done.unlock()
    }

    func value() -> Value? {
        done.lock()
        defer { done.unlock() }
        let deadline = Date().addingTimeInterval(60)
        while result == nil, done.wait(until: deadline) {}
        return result
    }
}

extension Thread {
    static func detachNewThreadWithResult<Value: Sendable>(_ body: @escaping @Sendable () -> Value) -> ThreadResult<Value> {
        let result = ThreadResult<Value>()
        detachNewThread { result.set(body()) }
        return result
    }
}
