public import BerthCore

extension ResourceLimits {
    /// A size as `docker run --memory` takes it (go-units `RAMInBytes`): a number, with an
    /// optional fraction, then an optional unit `b`, `k`, `m`, `g`, `t` or `p` (powers of
    /// 1024, any case, optionally followed by `i` and/or `b`: `32m`, `32MB`, `1.5GiB`).
    public static func parseBytes(_ text: String, parameter: String) throws(BerthError) -> UInt64 {
        let bytes = Array(text.utf8)
        let numberEnd = bytes.firstIndex { !(($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".")) } ?? bytes.endIndex
        // The rest must read ` ?[kmgtp]?i?b?`, any case (go-units' pattern).
        var rest = bytes[numberEnd...].map { $0 | 0x20 }[...]
        if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        var multiplier: UInt64 = 1
        let units: [UInt8: UInt64] = [UInt8(ascii: "k"): 1 << 10, UInt8(ascii: "m"): 1 << 20, UInt8(ascii: "g"): 1 << 30,
                                      UInt8(ascii: "t"): 1 << 40, UInt8(ascii: "p"): 1 << 50]
        if let first = rest.first, let unit = units[first] { multiplier = unit; rest = rest.dropFirst() }
        if rest.first == UInt8(ascii: "i") { rest = rest.dropFirst() }
        if rest.first == UInt8(ascii: "b") { rest = rest.dropFirst() }
        guard rest.isEmpty, let value = parseDecimal(Array(bytes[..<numberEnd]), scale: multiplier) else {
            throw .invalid("invalid size \"\(text)\"", hint: "write a number of bytes with an optional unit, e.g. 512m or 1.5g", parameter: parameter)
        }
        return value
    }

    /// `--cpus`: a positive decimal number of CPUs with at most 9 fractional digits, in
    /// billionths (`0.5` is 500_000_000). `0` is refused: a container needs some CPU.
    public static func parseCPUs(_ text: String) throws(BerthError) -> UInt64 {
        let bytes = Array(text.utf8)
        if let dot = bytes.firstIndex(of: UInt8(ascii: ".")), bytes.count - dot - 1 > 9 {
            throw .invalid("CPU count \"\(text)\" is more precise than 0.000000001", hint: "give at most 9 digits after the point", parameter: "cpus")
        }
        guard let nano = parseDecimal(bytes, scale: 1_000_000_000) else {
            throw .invalid("invalid CPU count \"\(text)\"", hint: "give a positive number of CPUs, e.g. 0.5 or 2", parameter: "cpus")
        }
        guard nano > 0 else {
            throw .invalid("a CPU limit of 0 would not let the container run", hint: "give a positive number such as 0.5, or no limit", parameter: "cpus")
        }
        return nano
    }

    /// `--cpu-shares`: a whole number from 2 to 262144.
    public static func parseCPUShares(_ text: String) throws(BerthError) -> UInt64 {
        guard let value = UInt64(text), (2...262_144).contains(value) else {
            throw .invalid("invalid CPU shares \"\(text)\"", hint: "give a whole number from 2 to 262144; 1024 is the default weight", parameter: "cpuShares")
        }
        return value
    }

    /// `--pids-limit`: a positive number, or `-1` or `0` for no limit (as Docker: nil).
    public static func parsePidsLimit(_ text: String) throws(BerthError) -> UInt64? {
        if text == "-1" || text == "0" { return nil }
        guard let value = UInt64(text), value > 0 else {
            throw .invalid("invalid pids limit \"\(text)\"", hint: "give a positive number of processes, or -1 for no limit", parameter: "pids")
        }
        return value
    }

    /// `--memory-swap`: a size, or `-1` for unlimited swap.
    public static func parseSwap(_ text: String) throws(BerthError) -> SwapLimit {
        if text == "-1" { return .unlimited }
        return .total(try parseBytes(text, parameter: "memorySwap"))
    }

    /// digits[.digits] × scale, the fraction truncated to a whole result; nil on anything
    /// else or on overflow.
    static func parseDecimal(_ bytes: [UInt8], scale: UInt64) -> UInt64? {
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = bytes[..<(dot ?? bytes.endIndex)]
        let fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard !whole.isEmpty, dot == nil || !fraction.isEmpty,
              (whole + fraction).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value: UInt64 = 0
        for digit in whole {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(UInt64(digit - 0x30))
            guard !o1, !o2 else { return nil }
            value = plus
        }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        // fraction × scale / 10^k, exactly (the product needs 128 bits); digits past the
        // 18th change nothing a UInt64 can hold.
        var numerator: UInt64 = 0, denominator: UInt64 = 1
        for digit in fraction.prefix(18) {
            numerator = numerator * 10 + UInt64(digit - 0x30)
            denominator *= 10
        }
        let part = denominator.dividingFullWidth(numerator.multipliedFullWidth(by: scale)).quotient
        let (total, o3) = scaled.addingReportingOverflow(part)
        return o3 ? nil : total
    }
}
