#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Polling, for states that other processes reach (a background checkpoint ending, a
/// detached child's work): no timed assertion, only an upper bound on the wait.
public enum Poll {
    /// Polls `condition` every 10 ms for at most `seconds`; true once it held.
    public static func wait(seconds: Double = 10, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
