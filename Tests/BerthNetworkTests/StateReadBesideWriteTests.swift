import BerthCore
@testable import BerthNetwork
import Foundation
import Synchronization
import Testing

/// A read of one thread never waits for a write of another in the same process: a
/// runtime's `endpoints()` must not stall behind an attach that waits for the
/// cross-process lock or for the DNS resolver.
@Suite("StateStore: reads beside a write")
struct StateReadBesideWriteTests {
    @Test("a read on another thread completes while a write's body is parked, and sees only what was committed")
    func readDoesNotWaitForWrite() throws {
        try withStore { store, _ throws in
            try store.write { tx throws(BerthError) in try tx.insertNetwork(try Fixture.network("web")) }
            let inWrite = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), writeDone = DispatchSemaphore(value: 0)
            let writer = Thread {
                _ = try? store.write { tx throws(BerthError) in
                    try tx.insertNetwork(try Fixture.network("pending", subnet: "10.89.0.0/24"))
                    inWrite.signal()
                    // Bounded, so a failing test still ends.
                    _ = release.wait(timeout: .now() + 120)
                }
                writeDone.signal()
            }
            writer.start()
            // A failing test still lets the write end, and waits for it (once).
            var writerJoined = false
            defer {
                release.signal()
                if !writerJoined { _ = writeDone.wait(timeout: .now() + 120) }
            }
            try #require(inWrite.wait(timeout: .now() + 60) == .success, "the write did not start")

            let seen = Seen(), readDone = DispatchSemaphore(value: 0)
            let reader = Thread {
                let names = try? store.read { tx throws(BerthError) in try tx.networks().map(\.name) }
                seen.names.withLock { $0 = names ?? ["read failed"] }
                readDone.signal()
            }
            reader.start()
            defer {
                release.signal()
                _ = readDone.wait(timeout: .now() + 120)
            }
            // Poll with a hang bound: before the fix the read waits for the write, which
            // waits for `release`, sent only after this loop gives up.
            let deadline = Date().addingTimeInterval(20)
            while seen.names.withLock({ $0 }) == nil, Date() < deadline { usleep(2_000) }
            #expect(seen.names.withLock { $0 } == ["web"], "the read waited for the write (or saw its uncommitted network)")

            release.signal()
            writerJoined = writeDone.wait(timeout: .now() + 60) == .success
            try #require(writerJoined)
            // Once the write is committed, a read (on either connection) sees it.
            #expect(try store.read { tx throws(BerthError) in try tx.networks().map(\.name) }.sorted() == ["pending", "web"])
        }
    }

    /// What the reading thread saw; nil until its read returns.
    private final class Seen: Sendable {
        let names = Mutex<[String]?>(nil)
    }
}
