#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A moment on the wall clock (CLOCK_REALTIME): nanoseconds since the Unix epoch, UTC.
///
/// Spans 1677-09-21 to 2262-04-11 (a signed 64-bit count); arithmetic past either end
/// saturates there. Printed as Docker prints a log line's time (`RFC3339NanoFixed`):
/// `2026-12-03T07:08:00.120000000Z`, always nine digits of fraction, always UTC.
public struct WallTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z; negative before it.
    public let nanoseconds: Int64

    /// The moment `nanoseconds` after the epoch.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The moment `seconds` and `nanoseconds` after the epoch, saturated at the ends of the span.
    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        let (scaled, over) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overSum) = scaled.addingReportingOverflow(nanoseconds)
        self.nanoseconds = over || overSum ? (seconds < 0 ? .min : .max) : sum
    }

    /// Now, on CLOCK_REALTIME (a vDSO call: no system call).
    public static var now: WallTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallTime(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    /// This moment moved by `nanoseconds` (negative: earlier), saturated at the ends of the span.
    public func adding(nanoseconds delta: Int64) -> WallTime {
        let (sum, over) = nanoseconds.addingReportingOverflow(delta)
        return WallTime(nanoseconds: over ? (delta < 0 ? .min : .max) : sum)
    }

    /// Whole seconds since the epoch (rounded down) and the nanoseconds past them (0...999_999_999).
    public var secondsAndNanoseconds: (seconds: Int64, nanoseconds: Int64) {
        let (seconds, rest) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return rest < 0 ? (seconds - 1, rest + 1_000_000_000) : (seconds, rest)
    }

    /// `2026-12-03T07:08:00.120000000Z`: Docker's `RFC3339NanoFixed` in UTC, what
    /// `docker logs --timestamps` puts before each line.
    public var rfc3339: String {
        let (seconds, fraction) = secondsAndNanoseconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let second = seconds - days * 86_400
        let date = CivilDate(daysSinceEpoch: days)
        return Self.digits(date.year, 4) + "-" + Self.digits(date.month, 2) + "-" + Self.digits(date.day, 2) + "T"
            + Self.digits(second / 3600, 2) + ":" + Self.digits(second / 60 % 60, 2) + ":" + Self.digits(second % 60, 2)
            + "." + Self.digits(fraction, 9) + "Z"
    }

    /// What Docker prints for a log entry that has no time (Go's zero `time.Time`).
    public static let zeroRFC3339 = "0001-01-01T00:00:00.000000000Z"

    public var description: String { rfc3339 }

    public static func < (lhs: WallTime, rhs: WallTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `value` in decimal, zero-padded to `width` digits (`value` is not negative here).
    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// The local time zone's offset east of UTC now, in seconds (`localtime_r`'s `tm_gmtoff`):
    /// what Docker reads a date without a zone in (`time.FixedZone(reference.Zone())`).
    public static func localOffset(at time: WallTime = .now) -> Int64 {
        var seconds = time_t(time.secondsAndNanoseconds.seconds)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return 0 }
        return Int64(parts.tm_gmtoff)
    }
}

/// A day of the proleptic Gregorian calendar, converted to and from days since 1970-01-01
/// (Howard Hinnant's `civil_from_days` and `days_from_civil`: 400-year eras of 146 097
/// days, years starting in March so that the leap day ends them).
public struct CivilDate: Sendable, Hashable {
    /// The year, astronomically numbered (1 BC is 0, 2 BC is -1).
    public let year: Int64
    /// 1...12.
    public let month: Int64
    /// 1...31.
    public let day: Int64

    /// The day `day` of month `month` of `year`, taken as given: the values are not
    /// checked against the calendar (a caller that parses a date checks its ranges).
    public init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day `days` after 1970-01-01 (negative: before it).
    public init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shifted + 2) / 5 + 1
        month = shifted < 10 ? shifted + 3 : shifted - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this day (negative: before it).
    public var daysSinceEpoch: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Whether `year` has a 29 February.
    public static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// The number of days of `month` (1...12) in `year`.
    public static func days(inMonth month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
