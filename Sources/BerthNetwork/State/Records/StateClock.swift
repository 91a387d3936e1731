#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wall-clock time for records' `created` fields, without Foundation's `Date`.
public enum StateClock {
    /// The current time in seconds since the Unix epoch.
    public static func now() -> Int64 { Int64(time(nil)) }
}
