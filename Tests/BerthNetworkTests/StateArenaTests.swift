import BerthCore
@testable import BerthNetwork
import Foundation
import Synchronization
import Testing

/// The allocator a CLI's attach or detach gives SQLite (`StateStore.allocateForOneCommand`,
/// Sources/CSQLite/shim.h). It must be installed before SQLite's first use in a process,
/// which this test process is long past, so each test runs in a process of its own (an exit
/// test) and reports by its exit status: 0 when every row came back.
@Suite("StateStore: the one-command arena")
struct StateArenaTests {
    @Test("a store opened after allocateForOneCommand() writes, frees and reads back rows through the arena and past its 4 MiB, where the default allocator takes over")
    func arenaAndBeyond() async {
        await #expect(processExitsWith: .exitCode(0)) {
            guard StateStore.allocateForOneCommand() else { exit(10) }
            let temp: TempState
            do { temp = try TempState() } catch { exit(11) }
            // exit() skips defer: the directory is removed before the status is reported.
            let status = Self.arenaRoundTrip(temp)
            temp.cleanup()
            exit(status)
        }
    }

    /// arenaAndBeyond's body in the exit test's process: 0 when every row came back.
    private static func arenaRoundTrip(_ temp: TempState) -> Int32 {
        do {
            let store = try temp.open()
            _ = try store.write { tx throws(BerthError) in
                try tx.db().execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
                // 3,000 rows of 3,000 bytes (row n: the letter n % 26 + 'A' repeated), a page
                // cache of SQLite's default 2 MiB and every statement's memory, much of it
                // freed on the way.
                for n in 0..<3_000 {
                    try tx.db().execute("INSERT INTO scratch (n, payload) VALUES (?1, CAST(replace(hex(zeroblob(1500)), '0', char(65 + ?1 % 26)) AS BLOB))",
                                        [.integer(Int64(n))])
                }
            }
            // One 18 MB result grown by realloc: it leaves the arena for the default allocator.
            let text = try store.read { tx throws(BerthError) in
                try tx.db().queryFirst("SELECT group_concat(hex(payload), '') FROM scratch") { $0.text(0) }
            }
            // Row n's 3,000 bytes in hex: "41" … for 'A', 6,000 characters a row, in order.
            let hex = (0..<26).map { String(repeating: String(65 + $0, radix: 16, uppercase: true), count: 3_000) }
            var expected = ""
            for n in 0..<3_000 { expected += hex[n % 26] }
            guard text == expected else { return 12 }
            let rows = try store.read { tx throws(BerthError) in
                try tx.db().queryFirst("SELECT count(*), sum(length(payload)) FROM scratch") { ($0.int(0), $0.int(1)) }
            }
            guard let rows, rows.0 == 3_000, rows.1 == 9_000_000 else { return 13 }
        } catch {
            return 14
        }
        return 0
    }

    @Test("two threads with a store each allocate through the arena at once and both read back every row")
    func twoThreads() async {
        await #expect(processExitsWith: .exitCode(0)) {
            guard StateStore.allocateForOneCommand() else { exit(10) }
            // Each thread fills a store of its own in 1,000 transactions of 20 rows; SQLite
            // takes no global mutex around its allocator, so only the arena's lock keeps
            // the two threads' allocations and frees apart.
            let results = Mutex<[Int]>([])
            let threads = (0..<2).map { _ in
                Thread {
                    var rows = -1
                    if let temp = try? TempState() {
                        defer { temp.cleanup() }
                        rows = (try? Self.fill(temp)) ?? -2
                    }
                    results.withLock { $0.append(rows) }
                }
            }
            threads.forEach { $0.start() }
            while results.withLock({ $0.count }) < 2 { usleep(1_000) }
            exit(results.withLock { $0 } == [20_000, 20_000] ? 0 : 12)
        }
    }

    private static func fill(_ temp: TempState) throws -> Int {
        let store = try temp.open()
        for batch in 0..<1_000 {
            _ = try store.write { tx throws(BerthError) in
                if batch == 0 { try tx.db().execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY, payload TEXT NOT NULL)") }
                for n in 0..<20 {
                    try tx.db().execute("INSERT INTO scratch (n, payload) VALUES (?1, printf('%0*d', 100 + ?1 % 300, ?1))",
                                        [.integer(Int64(batch * 20 + n))])
                }
            }
        }
        let rows = try store.read { tx throws(BerthError) in
            try tx.db().queryFirst("SELECT count(*) FROM scratch WHERE payload = printf('%0*d', 100 + n % 300, n)") { $0.int(0) }
        }
        return rows ?? 0
    }
}
