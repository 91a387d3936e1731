#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The time on CLOCK_MONOTONIC, as a `Duration` since an unspecified start: for deadlines
/// and intervals (`let deadline = MonotonicClock.now + timeout`).
///
/// Not `ContinuousClock`: that type lives in `_Concurrency`, and a single use of it links
/// `_Concurrency` and libdispatch into every binary that reaches it — the ones runtimes start
/// per container included — whose relocated data and start-up constructor every process
/// then pays for (docs/performance.md, perf7).
public enum MonotonicClock {
    /// Now. CLOCK_MONOTONIC never goes back and does not jump with the wall clock; unlike
    /// `ContinuousClock` (CLOCK_BOOTTIME on Linux) it stops while the machine is suspended,
    /// as `nanosleep` does, so a deadline does not run out during a suspend.
    public static var now: Duration {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    }

    /// Now in whole milliseconds, for deadlines kept as integers (poll timeouts).
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
