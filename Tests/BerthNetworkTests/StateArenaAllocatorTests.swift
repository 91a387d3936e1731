@testable import BerthNetwork
import BerthTestSupport
internal import CSQLite
import Foundation
import Testing

/// The one-command arena (Sources/CSQLite/shim.h) called through SQLite's own allocator
/// API, so each test sees the addresses and sizes it hands out. Like StateArenaTests, each
/// test runs in a process of its own (the arena is installed only before SQLite's first
/// use) and reports by its exit status: 0 when every check held, else the failed check's.
@Suite("StateStore: the one-command arena's blocks")
struct StateArenaAllocatorTests {
    @Test("a freed block over 2,040 bytes is reused by a request it fits at most twice, with its whole payload as its size; a larger one is left for a larger request")
    func largeFreeList() async {
        await #expect(processExitsWith: .exitCode(0)) {
            guard StateStore.allocateForOneCommand() else { exit(10) }
            guard let a = sqlite3_malloc(3_000), let b = sqlite3_malloc(16) else { exit(11) }
            // A bump block reports what was asked for.
            guard sqlite3_msize(a) == 3_000 else { exit(12) }
            sqlite3_free(a)
            // A is not the latest block (B follows it), so it waits on the large list.
            guard let c = sqlite3_malloc(2_500), c == a else { exit(13) }
            // 3,000 rounded up to 8, plus the 8-byte header: a 3,008-byte block, 3,000 of payload.
            guard sqlite3_msize(c) == 3_000 else { exit(14) }
            // An 88 KB block (a page cache's bulk) is more than twice a 2 KB request: the
            // request takes fresh memory and the block stays for a request of its size.
            guard let big = sqlite3_malloc(88_000), let d = sqlite3_malloc(16) else { exit(15) }
            sqlite3_free(big)
            guard let small = sqlite3_malloc(2_048), small != big, sqlite3_msize(small) == 2_048 else { exit(16) }
            guard let again = sqlite3_malloc(50_000), again == big, sqlite3_msize(again) == 88_000 else { exit(17) }
            [b, c, d, small, again].forEach { sqlite3_free($0) }
            exit(0)
        }
    }

    @Test("realloc of a reused block that is not the latest keeps its bytes: in place when it shrinks within the block, copied when it grows")
    func reallocOfAnOlderBlock() async {
        await #expect(processExitsWith: .exitCode(0)) {
            guard StateStore.allocateForOneCommand() else { exit(10) }
            guard let a = sqlite3_malloc(3_000), let b = sqlite3_malloc(16) else { exit(11) }
            sqlite3_free(a)
            guard let p = sqlite3_malloc(2_500), p == a else { exit(12) }
            Self.fill(p, count: 2_500, seed: 7)
            guard let shrunk = sqlite3_realloc(p, 2_100) else { exit(13) }
            guard shrunk == p, sqlite3_msize(shrunk) >= 2_100, Self.holds(shrunk, count: 2_100, seed: 7) else { exit(14) }
            guard let grown = sqlite3_realloc(shrunk, 6_000) else { exit(15) }
            guard grown != p, sqlite3_msize(grown) >= 6_000, Self.holds(grown, count: 2_100, seed: 7) else { exit(16) }
            // The shrunk block was freed whole: a 3,000-byte request takes it back.
            guard let back = sqlite3_malloc(3_000), back == p else { exit(17) }
            // A small block that is not the latest shrinks in place too, down to half of it;
            // below that it moves, keeping its bytes (no block holds many times its size).
            guard let s = sqlite3_malloc(1_000), let t = sqlite3_malloc(16) else { exit(18) }
            Self.fill(s, count: 1_000, seed: 9)
            guard let s2 = sqlite3_realloc(s, 600), s2 == s, Self.holds(s2, count: 600, seed: 9) else { exit(19) }
            guard let s3 = sqlite3_realloc(s2, 100), s3 != s2, sqlite3_msize(s3) < 600, Self.holds(s3, count: 100, seed: 9) else { exit(20) }
            [b, grown, back, s3, t].forEach { sqlite3_free($0) }
            exit(0)
        }
    }

    @Test("10,000 seeded random mallocs, reallocs and frees: no two live blocks overlap and every block keeps its bytes")
    func randomized() async {
        await #expect(processExitsWith: .exitCode(0)) {
            guard StateStore.allocateForOneCommand() else { exit(10) }
            var random = SplitMix(seed: 0x5eed_0a7e)
            // Live blocks: address, requested size, fill seed.
            var live: [(p: UnsafeMutableRawPointer, n: Int, seed: UInt8)] = []
            func size() -> Int {
                // Mostly SQLite's small objects, some over the small lists' 2,040 bytes, a few large.
                switch random.next() % 10 {
                case 0..<6: Int(random.next() % 600) + 1
                case 6..<9: Int(random.next() % 6_000) + 1
                default: Int(random.next() % 120_000) + 1
                }
            }
            func overlaps(_ p: UnsafeMutableRawPointer, except index: Int?) -> Bool {
                let start = UInt(bitPattern: p), end = start + UInt(sqlite3_msize(p))
                for (i, block) in live.enumerated() where i != index {
                    let s = UInt(bitPattern: block.p), e = s + UInt(sqlite3_msize(block.p))
                    if start < e && s < end { return true }
                }
                return false
            }
            for step in 0..<10_000 {
                let seed = UInt8(truncatingIfNeeded: step)
                let choice = live.isEmpty ? 0 : random.next() % (live.count > 300 ? 2 : 3)
                if choice == 0 || choice == 2 {
                    let n = size()
                    guard let p = sqlite3_malloc(Int32(n)) else { exit(11) }
                    guard sqlite3_msize(p) >= UInt64(n), !overlaps(p, except: nil) else { exit(12) }
                    Self.fill(p, count: n, seed: seed)
                    live.append((p, n, seed))
                } else if random.next() % 2 == 0 {
                    let i = Int(random.next() % UInt64(live.count))
                    guard Self.holds(live[i].p, count: live[i].n, seed: live[i].seed) else { exit(13) }
                    sqlite3_free(live[i].p)
                    live.swapAt(i, live.count - 1)
                    live.removeLast()
                } else {
                    let i = Int(random.next() % UInt64(live.count))
                    let n = size()
                    guard Self.holds(live[i].p, count: live[i].n, seed: live[i].seed) else { exit(14) }
                    guard let q = sqlite3_realloc(live[i].p, Int32(n)) else { exit(15) }
                    guard sqlite3_msize(q) >= UInt64(n), Self.holds(q, count: min(n, live[i].n), seed: live[i].seed) else { exit(16) }
                    live[i].p = q
                    guard !overlaps(q, except: i) else { exit(17) }
                    Self.fill(q, count: n, seed: seed)
                    live[i].n = n
                    live[i].seed = seed
                }
            }
            for block in live {
                guard Self.holds(block.p, count: block.n, seed: block.seed) else { exit(18) }
                sqlite3_free(block.p)
            }
            exit(0)
        }
    }

    /// Byte i of a block filled with `seed`: distinct per block and per offset.
    private static func fill(_ p: UnsafeMutableRawPointer, count: Int, seed: UInt8) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { bytes[i] = seed &+ UInt8(truncatingIfNeeded: i &* 31) }
    }

    private static func holds(_ p: UnsafeMutableRawPointer, count: Int, seed: UInt8) -> Bool {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count where bytes[i] != seed &+ UInt8(truncatingIfNeeded: i &* 31) { return false }
        return true
    }
}
