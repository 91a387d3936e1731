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

    @Test("a held lock uses up the budget; later writes do not wait again but fail at once, naming the budget; a free lock is still taken")
    func sharedBudget() throws {
        let temp = try TempState()
        defer { temp.cleanup() }
        _ = try temp.open()
        let store = try StateStore(directory: temp.directory, lockTimeout: .seconds(30), totalLockWait: .milliseconds(200))
        #expect(store.totalLockWait == .milliseconds(200) && store.lockWait <= .milliseconds(200))
        let holder = try Holder(temp.directory)
        let message = "timed out waiting for the state lock \(temp.directory)/lock: the 0.2 seconds allowed for all of this store's waits for it ran out"
        for _ in 0..<2 {
            let error = try #require(throws: BerthError.self) { try store.write { _ throws(BerthError) in } }
            #expect(error.code == .conflict && error.message == message, "\(error.message)")
        }
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
