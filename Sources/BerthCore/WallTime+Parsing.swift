/// Reading a moment as `docker logs --since/--until` does (moby's `api/types/time`
/// `GetTimestamp`, then `ParseTimestamps`), without Foundation:
///
/// - a Go duration (`10m`, `1h30m`, `1.5h`, `42s`, `-5m`; units `ns`, `us`/`µs`, `ms`, `s`,
///   `m`, `h`): that long before `now`;
/// - an RFC 3339 date-time, `2026-12-03T07:08:00Z`, with an optional fraction
///   (`…:00.5Z`) and a `Z` or `±hh:mm` zone; the seconds, or the minutes and seconds, may go
///   (`2026-12-03T07Z`, `2026-12-03T07:08+01:00`); without a zone it is local time;
/// - a date, `2026-12-03` (local midnight) or `2026-12-03Z`, `2026-12-03+01:00`;
/// - a Unix time, `1700000000` or `1700000000.123456789`.
///
/// As Docker does: the value `0` is the Unix time 0, not a duration; a value with a `Z`, a
/// `+` or three `-` has a zone; a value with a `.` is a date-time with a fraction (or a Unix
/// time); one that is not a date-time and has a `-` is bad, not a Unix time.
extension WallTime {
    /// `text` as `docker logs --since` reads it, with durations before `now` and dates
    /// without a zone `localOffset` seconds east of UTC; nil when it is none of the forms.
    public init?(dockerTime text: String, now: WallTime, localOffset: Int64) {
        let bytes = Array(text.utf8)
        if text != "0", let duration = GoDuration.nanoseconds(bytes) {
            self = now.adding(nanoseconds: duration == .min ? .max : -duration)
            return
        }
        if let time = DockerDateTime.parse(bytes, localOffset: localOffset) {
            self = time
            return
        }
        guard !bytes.contains(UInt8(ascii: "-")), let time = Self.unixTime(bytes) else { return nil }
        self = time
    }

    /// `1700000000` or `1700000000.123456789` (more digits of fraction are cut at nine).
    private static func unixTime(_ bytes: [UInt8]) -> WallTime? {
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        var whole = bytes[..<(dot ?? bytes.endIndex)]
        if whole.first == UInt8(ascii: "+") { whole = whole.dropFirst() }
        guard let seconds = DockerDateTime.number(whole) else { return nil }
        guard let dot else { return WallTime(seconds: seconds) }
        let fraction = bytes[(dot + 1)...]
        guard DockerDateTime.number(fraction) != nil else { return nil }
        return WallTime(seconds: seconds, nanoseconds: DockerDateTime.nanoseconds(fraction))
    }
}

/// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers (with an
/// optional fraction), each with a unit: `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`. `0`
/// alone needs no unit.
public enum GoDuration {
    /// The duration in nanoseconds; nil when malformed or past ±2⁶³ ns (about 292 years).
    public static func nanoseconds(_ text: String) -> Int64? { nanoseconds(Array(text.utf8)) }

    static func nanoseconds(_ bytes: [UInt8]) -> Int64? {
        var rest = bytes[...]
        var negative = false
        if let sign = rest.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            rest = rest.dropFirst()
        }
        if rest.elementsEqual("0".utf8) { return 0 }
        guard !rest.isEmpty else { return nil }
        var total: UInt64 = 0
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        while !rest.isEmpty {
            let whole = rest.prefix(while: isDigit)
            rest = rest.dropFirst(whole.count)
            var fraction: ArraySlice<UInt8> = []
            if rest.first == UInt8(ascii: ".") {
                rest = rest.dropFirst()
                fraction = rest.prefix(while: isDigit)
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { return nil }
            let unitBytes = rest.prefix { $0 != UInt8(ascii: ".") && !isDigit($0) }
            rest = rest.dropFirst(unitBytes.count)
            guard let unit = unit(unitBytes) else { return nil }
            var value: UInt64 = 0
            for digit in whole {
                let (times, over) = value.multipliedReportingOverflow(by: 10)
                let (sum, overSum) = times.addingReportingOverflow(UInt64(digit - 0x30))
                guard !over, !overSum else { return nil }
                value = sum
            }
            let (scaled, over) = value.multipliedReportingOverflow(by: unit)
            guard !over else { return nil }
            // The fraction as Go takes it: its digits (as many as fit) times the unit, in floating point.
            var part: UInt64 = 0
            var scale = 1.0
            for digit in fraction where part <= (UInt64.max - 9) / 10 {
                part = part * 10 + UInt64(digit - 0x30)
                scale *= 10
            }
            let (withFraction, overFraction) = scaled.addingReportingOverflow(UInt64(Double(part) * (Double(unit) / scale)))
            let (sum, overSum) = total.addingReportingOverflow(withFraction)
            guard !overFraction, !overSum, sum <= UInt64(Int64.max) + (negative ? 1 : 0) else { return nil }
            total = sum
        }
        return negative ? (total == UInt64(Int64.max) + 1 ? .min : -Int64(total)) : Int64(total)
    }

    private static func unit(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        switch String(decoding: bytes, as: UTF8.self) {
        case "ns": return 1
        case "us", "\u{00B5}s", "\u{03BC}s": return 1000
        case "ms": return 1_000_000
        case "s": return 1_000_000_000
        case "m": return 60_000_000_000
        case "h": return 3_600_000_000_000
        default: return nil
        }
    }
}

/// The date and date-time layouts moby's `GetTimestamp` picks between, parsed as Go's
/// `time.Parse` does them: `2006-01-02` then optionally `T15`, `:04`, `:05`, `.999999999`,
/// then a zone `Z07:00` unless the value is local.
enum DockerDateTime {
    static func parse(_ bytes: [UInt8], localOffset: Int64) -> WallTime? {
        let count = { (byte: Character) in bytes.lazy.filter { $0 == byte.asciiValue }.count }
        let zoned = bytes.contains { $0 == UInt8(ascii: "z") || $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "+") } || count("-") == 3
        var fields = 0 // after the date: 0 none, 1 hour, 2 minutes, 3 seconds
        let fraction = bytes.contains(UInt8(ascii: "."))
        if fraction {
            fields = 3
        } else if bytes.contains(UInt8(ascii: "T")) {
            var colons = count(":")
            if zoned, !bytes.contains(where: { $0 == UInt8(ascii: "z") || $0 == UInt8(ascii: "Z") }), colons > 0 { colons -= 1 }
            fields = min(colons + 1, 3)
        }
        var rest = bytes[...]
        func take(_ width: Int) -> Int64? {
            guard rest.count >= width, let value = number(rest.prefix(width)) else { return nil }
            rest = rest.dropFirst(width)
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard rest.first == character.asciiValue else { return false }
            rest = rest.dropFirst()
            return true
        }
        guard let year = take(4), expect("-"), let month = take(2), expect("-"), let day = take(2),
              (1...12).contains(month), (1...CivilDate.days(inMonth: month, year: year)).contains(day) else { return nil }
        var seconds: Int64 = 0
        var nanoseconds: Int64 = 0
        if fields >= 1 {
            // Go's `15` takes one or two digits.
            guard expect("T") else { return nil }
            let digits = rest.prefix(2).prefix { (0x30...0x39).contains($0) }.count
            guard digits > 0, let hour = take(digits), hour < 24 else { return nil }
            seconds += hour * 3600
        }
        if fields >= 2 {
            guard expect(":"), let minute = take(2), minute < 60 else { return nil }
            seconds += minute * 60
        }
        if fields >= 3 {
            guard expect(":"), let second = take(2), second < 60 else { return nil }
            seconds += second
            // Go takes a fraction after the seconds whether or not the layout has one.
            if rest.first == UInt8(ascii: "."), rest.count > 1, (0x30...0x39).contains(rest[rest.startIndex + 1]) {
                rest = rest.dropFirst()
                let digits = rest.prefix { (0x30...0x39).contains($0) }
                rest = rest.dropFirst(digits.count)
                nanoseconds = Self.nanoseconds(digits)
            }
        }
        var offset = localOffset
        if zoned {
            if expect("Z") {
                offset = 0
            } else {
                guard let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
                rest = rest.dropFirst()
                guard let hours = take(2), expect(":"), let minutes = take(2), hours <= 24, minutes <= 60 else { return nil }
                offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        guard rest.isEmpty else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        return WallTime(seconds: days * 86_400 + seconds - offset, nanoseconds: nanoseconds)
    }

    /// Decimal digits only (at least one, at most 18) as a number.
    static func number(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// Fraction digits as nanoseconds: the first nine, padded with zeros.
    static func nanoseconds(_ digits: ArraySlice<UInt8>) -> Int64 {
        var value: Int64 = 0
        for index in 0..<9 {
            let at = digits.startIndex + index
            value = value * 10 + (at < digits.endIndex ? Int64(digits[at] - 0x30) : 0)
        }
        return value
    }
}
