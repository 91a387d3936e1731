import BerthCore
@testable import BerthNetwork
import Foundation
import Testing

/// `StateStore(totalLockWait:)`: one budget for every wait for the state lock of a process
/// that must finish in time (an OCI hook makes several writes in one call, and its runtime
/// kills it at a fixed timeout).
@Suite("StateStore: one budget for all lock waits")
struct StateLockBudgetTests {
    /// Holds the state directory's lock as another process would: a flock on its own open
    /// file description, released by `close`.
    final class Holder {
        let descriptor: Int32
        init(_ directory: String) throws {
            descriptor = open(directory + "/" + StateStore.lockName, O_RDWR | O_CLOEXEC)
            try #require(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        }
        func release() { close(descriptor) }
    }

    @Test("a held lock runs the budget (a deadline from the store's opening) out; later writes do not wait again but fail at once; each error says how long it waited and that the budget ran out; a free lock is still taken")
    func sharedBudget() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        _ = try temp.open()
        let store = try StateStore(directory: temp.directory, lockTimeout: .seconds(30), totalLockWait: .milliseconds(200))
        #expect(store.totalLockWait == .milliseconds(200) && store.lockWait <= .milliseconds(200))
        #expect(store.lockWaitLimit.budget == .milliseconds(200))
        let holder = try Holder(temp.directory)
        let waiting = "waiting for the state lock \(temp.directory)/lock: this call's lock budget ran out (0.2 seconds from the moment it opened Berth's state)"
        let first = try #require(throws: BerthError.self) { try store.write { _ throws(BerthError) in } }
        // What was left of the 200 ms: how much depends on the machine's load since the opening.
        let waited = try #require(first.message.firstMatch(of: #/^timed out after (\d+\.\d) seconds /#)?.1, "\(first.message)")
        #expect(first.code == .conflict && first.message == "timed out after \(waited) seconds " + waiting, "\(first.message)")
        #expect((Double(waited) ?? 1) <= 0.2)
        let second = try #require(throws: BerthError.self) { try store.write { _ throws(BerthError) in } }
        #expect(second.code == .conflict && second.message == "timed out after 0.0 seconds " + waiting, "\(second.message)")
        // Spent: nothing is left to wait, whatever lockTimeout says.
        #expect(store.lockWait == .zero)
        holder.release()
        // A free lock is still taken, without waiting. Free: the holder's open file
        // description may live on for a moment in a child another test's thread is forking
        // (until that child's execve closes it), so the write is tried again, bounded.
        var result: Result<Int, BerthError> = .failure(BerthError(.conflict, "not tried"))
        for _ in 0..<200 {
            result = Result { () throws(BerthError) in try store.write { _ throws(BerthError) in 7 } }
            guard case .failure(let error) = result, error.code == .conflict else { break }
            usleep(50_000)
        }
        #expect(try result.get() == 7)
    }

    @Test("a wait's own timeout, not the budget, bounds it while more of the budget is left; the budget's words only once it sets the wait")
    func timeoutBeforeBudget() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let store = try StateStore(directory: temp.directory, lockTimeout: .milliseconds(50), totalLockWait: .seconds(30))
        #expect(store.lockWaitLimit == LockWait(limit: .milliseconds(50)))
        let holder = try Holder(temp.directory)
        defer { holder.release() }
        let error = try #require(throws: BerthError.self) { try store.write { _ throws(BerthError) in } }
        #expect(error.message == "timed out after 0.05 seconds waiting for the state lock \(temp.directory)/lock", "\(error.message)")
    }

    @Test("LockWait rounds the time waited to a tenth of a second")
    func rounding() {
        #expect(LockWait.tenths(.zero) == .zero)
        #expect(LockWait.tenths(.milliseconds(149)) == .milliseconds(100))
        #expect(LockWait.tenths(.milliseconds(150)) == .milliseconds(200))
        #expect(LockWait.tenths(.milliseconds(29_987)) == .seconds(30))
        #expect("\(LockWait.tenths(.milliseconds(1_234)))" == "1.2 seconds")
    }

    @Test("without a budget each wait has the whole lockTimeout, and its error says so")
    func perWait() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        let store = try StateStore(directory: temp.directory, lockTimeout: .milliseconds(50))
        #expect(store.totalLockWait == nil && store.lockWait == .milliseconds(50))
        let holder = try Holder(temp.directory)
        defer { holder.release() }
        let error = try #require(throws: BerthError.self) { try store.write { _ throws(BerthError) in } }
        #expect(error.message == "timed out after 0.05 seconds waiting for the state lock \(temp.directory)/lock", "\(error.message)")
        #expect(store.lockWait == .milliseconds(50))
    }
}
