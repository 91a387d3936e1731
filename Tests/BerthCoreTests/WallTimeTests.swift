import BerthCore
import Testing

/// Wall-clock moments: printed as `docker logs -t` prints them, read as `docker logs
/// --since/--until` reads them (moby's GetTimestamp and Go's time.Parse/ParseDuration).
@Suite("Wall time")
struct WallTimeTests {
    private let second: Int64 = 1_000_000_000
    /// 2026-12-03T07:08:00Z.
    private let now = WallTime(seconds: 1_796_281_680)

    @Test("printed as RFC3339NanoFixed in UTC: nine digits of fraction always, four of year")
    func format() {
        #expect(WallTime(nanoseconds: 0).rfc3339 == "1970-01-01T00:00:00.000000000Z")
        #expect(WallTime(seconds: 1_796_281_680, nanoseconds: 123_456_789).rfc3339 == "2026-12-03T07:08:00.123456789Z")
        #expect(WallTime(seconds: 1_796_281_680, nanoseconds: 120_000_000).rfc3339 == "2026-12-03T07:08:00.120000000Z")
        // Past the 32-bit time_t.
        #expect(WallTime(seconds: Int64(Int32.max) + 1).rfc3339 == "2038-01-19T03:14:08.000000000Z")
        // Before the epoch: the fraction counts up from the whole second below.
        #expect(WallTime(nanoseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999999Z")
        #expect(WallTime(seconds: -86_400).rfc3339 == "1969-12-31T00:00:00.000000000Z")
        // Leap days: 2000 (a 400th year) and 2024 have one, 2100 does not.
        #expect(WallTime(seconds: 951_782_400).rfc3339 == "2000-02-29T00:00:00.000000000Z")
        #expect(WallTime(seconds: 1_709_208_000).rfc3339 == "2024-02-29T12:00:00.000000000Z")
        #expect(WallTime(seconds: 4_107_542_400).rfc3339 == "2100-03-01T00:00:00.000000000Z")
        // The ends of the span.
        #expect(WallTime(nanoseconds: .max).rfc3339 == "2262-04-11T23:47:16.854775807Z")
        #expect(WallTime(nanoseconds: .min).rfc3339 == "1677-09-21T00:12:43.145224192Z")
        #expect(WallTime(seconds: .max) == WallTime(nanoseconds: .max))
    }

    @Test("civil days and days since the epoch convert both ways, day by day over 800 years")
    func civil() {
        #expect(CivilDate(daysSinceEpoch: 0) == CivilDate(year: 1970, month: 1, day: 1))
        #expect(CivilDate(year: 1, month: 1, day: 1).daysSinceEpoch == -719_162)
        var expected = CivilDate(year: 1800, month: 1, day: 1)
        for days in expected.daysSinceEpoch...(CivilDate(year: 2600, month: 1, day: 1).daysSinceEpoch) {
            let date = CivilDate(daysSinceEpoch: days)
            guard date == expected, date.daysSinceEpoch == days else {
                Issue.record("day \(days): \(date), expected \(expected)")
                return
            }
            let last = CivilDate.days(inMonth: date.month, year: date.year)
            expected = date.day < last ? CivilDate(year: date.year, month: date.month, day: date.day + 1)
                : date.month < 12 ? CivilDate(year: date.year, month: date.month + 1, day: 1) : CivilDate(year: date.year + 1, month: 1, day: 1)
        }
        #expect(CivilDate.isLeap(2000) && CivilDate.isLeap(2024) && !CivilDate.isLeap(1900) && !CivilDate.isLeap(2100))
    }

    private func parse(_ text: String, offset: Int64 = 0) -> WallTime? { WallTime(dockerTime: text, now: now, localOffset: offset) }

    @Test("RFC 3339 date-times: Z or an offset, with or without a fraction, the seconds or minutes may go")
    func dateTimes() {
        #expect(parse("2026-12-03T07:08:00Z") == now)
        #expect(parse("2026-12-03T08:08:00+01:00") == now)
        #expect(parse("2026-12-03T02:38:00-04:30") == now)
        #expect(parse("2026-12-03T07:08:00.5Z") == now.adding(nanoseconds: second / 2))
        #expect(parse("2026-12-03T07:08:00.123456789Z") == now.adding(nanoseconds: 123_456_789))
        // Digits past the ninth are cut, as Go does.
        #expect(parse("2026-12-03T07:08:00.1234567899Z") == now.adding(nanoseconds: 123_456_789))
        #expect(parse("2026-12-03T07:08Z") == now)
        #expect(parse("2026-12-03T07Z") == now.adding(nanoseconds: -8 * 60 * second))
        #expect(parse("2026-12-03T07:08+00:00") == now)
        #expect(parse("2026-12-03T7:08:00Z") == now, "Go's hour takes one digit too")
        #expect(parse("1970-01-01T00:00:00Z") == WallTime(nanoseconds: 0))
        #expect(parse("2038-01-19T03:14:08Z") == WallTime(seconds: Int64(Int32.max) + 1))
        #expect(parse("2024-02-29T00:00:00Z") == WallTime(seconds: 1_709_164_800))
        // Far beyond the span: saturated, so it is after (or before) every line.
        #expect(parse("9999-12-31T00:00:00Z") == WallTime(nanoseconds: .max))
    }

    @Test("without a zone: local time, at the offset given (docker: the zone of now)")
    func local() {
        #expect(parse("2026-12-03T08:08:00", offset: 3600) == now)
        #expect(parse("2026-12-03T08:08", offset: 3600) == now)
        #expect(parse("2026-12-03T08:08:00.25", offset: 3600) == now.adding(nanoseconds: second / 4))
        #expect(parse("2026-12-03", offset: -7200) == WallTime(seconds: 1_796_256_000 + 7200))
        #expect(parse("2026-12-03Z") == WallTime(seconds: 1_796_256_000))
        #expect(parse("2026-12-03+02:00") == WallTime(seconds: 1_796_256_000 - 7200))
        #expect(parse("2026-12-03-02:00") == WallTime(seconds: 1_796_256_000 + 7200))
    }

    @Test("unix times, whole or with a fraction; 0 is the epoch, not a duration")
    func unix() {
        #expect(parse("1796281680") == now)
        #expect(parse("1796281680.5") == now.adding(nanoseconds: second / 2))
        #expect(parse("1796281680.000000001") == now.adding(nanoseconds: 1))
        #expect(parse("0") == WallTime(nanoseconds: 0))
        #expect(parse("10") == WallTime(seconds: 10))
    }

    @Test("Go durations: that long before now; several units, fractions, a sign, µs")
    func durations() {
        #expect(parse("10m") == now.adding(nanoseconds: -600 * second))
        #expect(parse("1h30m") == now.adding(nanoseconds: -5400 * second))
        #expect(parse("1.5h") == now.adding(nanoseconds: -5400 * second))
        #expect(parse("42s") == now.adding(nanoseconds: -42 * second))
        #expect(parse("-5m") == now.adding(nanoseconds: 300 * second))
        #expect(parse("1h2m3s4ms5us6ns") == now.adding(nanoseconds: -(3723 * second + 4_005_006)))
        #expect(GoDuration.nanoseconds("3µs") == 3000 && GoDuration.nanoseconds("3μs") == 3000)
        #expect(GoDuration.nanoseconds(".5s") == second / 2 && GoDuration.nanoseconds("1.s") == second)
        #expect(GoDuration.nanoseconds("2562047h47m16.854775807s") == .max)
        #expect(GoDuration.nanoseconds("-2562047h47m16.854775808s") == .min)
        for bad in ["", "10", "m", "1x", "1 m", "1h 2m", ".s", "1..5s", "2562047h47m16.854775808s", "1e3s", "1S", "+"] {
            #expect(GoDuration.nanoseconds(bad) == nil, "\(bad)")
        }
    }

    @Test("bad values: none of the forms, a date out of range, a dash that is no date, extra text")
    func bad() {
        for bad in ["", "yesterday", "2026-13-01", "2026-02-29", "2026-12-32T00:00:00Z", "2026-12-03T24:00:00Z",
                    "2026-12-03T07:60:00Z", "2026-12-03T07:08:60Z", "26-12-03", "2026-12-3",
                    "2026-12-03T07:08:00z", "2026-12-03T07:08:00+0100", "2026-12-03T07:08:00Z extra", "-1", "1700000000.",
                    "1700000000.x", "1.2.3", "10 m", "2026-12-03 07:08:00Z"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        // A leap day only in leap years.
        #expect(parse("2028-02-29Z") != nil && parse("2100-02-29Z") == nil)
    }
}
