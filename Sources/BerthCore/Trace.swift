#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Phase timings on stderr when `BERTH_TRACE=1`: `berth: trace 1.234 ms attach: veth`.
/// Costs one branch per mark when off; used to see where an operation's time goes.
public enum Trace {
    private static let enabled: Bool = getenv("BERTH_TRACE").map { String(cString: $0) == "1" } ?? false
    private static let start = now()

    /// Prints the time since the process's first mark and what just finished.
    public static func mark(_ what: @autoclosure () -> String) {
        guard enabled else { return }
        let origin = start // first use sets the origin; read it before the clock
        let ms = Double(now() &- origin) / 1_000_000
        let line = Array("berth: trace \(ms.formatted3) ms \(what())\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

private extension Double {
    var formatted3: String {
        let scaled = Int((self * 1000).rounded())
        let fraction = String(scaled % 1000)
        return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
