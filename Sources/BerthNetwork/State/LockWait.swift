/// How long one wait for a lock may last, and what set that: a timeout of its own, or what
/// is left of a call's lock budget (`StateStore(totalLockWait:)`, a deadline counted from
/// the moment the store was opened). Words the error when the wait runs out, so that a
/// wait the budget cut short (or did not allow at all) says so instead of naming a timeout
/// nobody chose.
public struct LockWait: Sendable, Hashable {
    /// The longest this wait may last (zero: a free lock is still taken, a held one is not
    /// waited for).
    public var limit: Duration
    /// The call's budget when it, not a timeout of the wait's own, set `limit`.
    public var budget: Duration?

    public init(limit: Duration, budget: Duration? = nil) {
        self.limit = limit
        self.budget = budget
    }

    /// The message of the error a wait for `what` that ran out throws, having waited
    /// `waited`: a wait with its own timeout names it; one the budget bounded says how long
    /// it actually waited (to a tenth of a second) and that the budget ran out.
    public func timedOut(waitingFor what: String, waited: Duration) -> String {
        guard let budget else { return "timed out after \(limit) waiting for \(what)" }
        return "timed out after \(Self.tenths(waited)) waiting for \(what): this call's lock budget ran out "
            + "(\(budget) from the moment it opened Berth's state)"
    }

    /// `duration` rounded to a tenth of a second, as `Duration` prints it ("0.2 seconds").
    static func tenths(_ duration: Duration) -> Duration {
        let (seconds, attoseconds) = duration.components
        let tenths = max(0, seconds * 10 + (attoseconds + 50_000_000_000_000_000) / 100_000_000_000_000_000)
        return .milliseconds(tenths * 100)
    }
}
