import BerthCore
import BerthNetwork
import Foundation

/// A read transaction held open on another thread: its snapshot stays, so no checkpoint
/// can empty the WAL until `release`.
public final class StateSnapshotHolder: @unchecked Sendable {
    private let reading = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(directory: String) throws {
        let store = try StateStore(directory: directory)
        let thread = Thread { [reading, done, finished] in
            _ = try? store.read { tx throws(BerthError) in
                _ = try tx.networks()
                reading.signal()
                done.wait()
            }
            finished.signal()
        }
        thread.start()
        reading.wait()
    }

    /// Ends the transaction.
    public func release() {
        done.signal()
        finished.wait()
    }
}
