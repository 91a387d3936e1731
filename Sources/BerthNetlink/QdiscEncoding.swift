import BerthCore

// The option payloads of the qdiscs Berth installs, written as the kernel lays out the
// structs (little-endian, as this host; netlink is host byte order).

/// Appends fixed-width integers in host (little-endian) order.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }

    /// A netlink attribute (length, type, value, padding to 4 bytes).
    mutating func attribute(_ type: UInt16, _ value: [UInt8]) {
        u16(UInt16(4 + value.count))
        u16(type)
        bytes += value
        bytes += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
    }
}

extension TokenBucket {
    /// struct tc_tbf_qopt.
    var qopt: [UInt8] {
        var w = ByteWriter()
        let bytesPerSecond = rate.bytesPerSecond
        // struct tc_ratespec rate: cell_log, linklayer, overhead, cell_align, mpu, rate.
        w.u8(0); w.u8(linkLayerEthernet); w.u16(0); w.u16(0); w.u16(0)
        w.u32(bytesPerSecond >= 1 << 32 ? UInt32.max : UInt32(bytesPerSecond))
        // struct tc_ratespec peakrate: none.
        for _ in 0..<3 { w.u32(0) }
        w.u32(limit)
        w.u32(bufferTicks)
        w.u32(0) // mtu: only with a peak rate
        return w.bytes
    }

    /// The time to send `burst` bytes at `rate`, in scheduler ticks, as tc computes
    /// `buffer`. The kernel recomputes it from TCA_TBF_BURST, which is sent as well.
    var bufferTicks: UInt32 {
        let bytesPerSecond = max(rate.bytesPerSecond, 1)
        let ns = UInt64(burst).multipliedReportingOverflow(by: 1_000_000_000)
        guard !ns.overflow else { return UInt32.max }
        return UInt32(clamping: ns.partialValue / bytesPerSecond / nanosecondsPerTick)
    }

    /// Reads a token bucket from the kernel's TCA_OPTIONS of a `tbf`.
    init?(options: NetlinkAttributes.Attribute) {
        let nested = options.nested
        guard let parms = nested[TBF.parms], parms.value.count >= TBF.qoptSize else { return nil }
        let bytes = Array(parms.value)
        var bytesPerSecond = UInt64(Self.u32(bytes, 8))
        if let rate64 = nested[TBF.rate64]?.u64 { bytesPerSecond = rate64 }
        let limit = Self.u32(bytes, 24)
        let buffer = UInt64(Self.u32(bytes, 28))
        let burstNs = buffer * nanosecondsPerTick
        let burst = (Double(burstNs) * Double(bytesPerSecond) / 1e9).rounded()
        // Kernel data, maybe another tool's tbf: a 64-bit rate times a long buffer is a
        // burst past any integer type (Int64(burst) trapped). Never negative, never NaN.
        self.init(rate: DataRate(bitsPerSecond: bytesPerSecond &* 8), burst: burst < Double(UInt32.max) ? UInt32(burst) : UInt32.max, limit: limit)
    }

    /// The lowest rate at which tbf holds this bucket's burst: the kernel keeps the burst
    /// as the time it takes at the rate and dumps it as a 32-bit count of 64 ns ticks (about
    /// 275 s), so at a slower rate it would read back as another bucket (and below 8 bit/s
    /// the rate is 0 bytes per second, no limit at all). 1% is left for the kernel's own
    /// rounding. A 32 KiB burst needs 968 bit/s, a frame of MTU 65535 1928 bit/s.
    public var leastRate: DataRate {
        let most = UInt64(UInt32.max) / 100 * 99 * nanosecondsPerTick
        let bytesPerSecond = (UInt64(burst) * 1_000_000_000 + most - 1) / most
        return DataRate(bitsPerSecond: max(bytesPerSecond, 1) * 8)
    }

    /// Whether `other` is the same bucket as read back from the kernel, which keeps the
    /// burst as a time and so rounds it: rate and queue exact, burst within 1%.
    public func matches(_ other: TokenBucket) -> Bool {
        guard rate.bytesPerSecond == other.rate.bytesPerSecond, limit == other.limit else { return false }
        let difference = burst > other.burst ? burst - other.burst : other.burst - burst
        return UInt64(difference) * 100 <= UInt64(max(burst, other.burst))
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}

extension NetworkEmulation {
    /// This emulation as the kernel reads it back: its percentages through the kernel's
    /// 32-bit probabilities, to three decimals (a file's `0.12345%` is installed as the
    /// nearest probability and read back as 0.123%).
    public var asInstalled: NetworkEmulation {
        var copy = self
        copy.loss = Self.percent(probability: Self.probability(loss))
        copy.duplicate = Self.percent(probability: Self.probability(duplicate))
        return copy
    }

    /// TCA_OPTIONS of a `netem`: struct tc_netem_qopt followed by attributes (not a nest),
    /// as the kernel parses it. Delays go as 64-bit nanoseconds too, which take precedence
    /// over the tick fields.
    var options: [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(clamping: delay.nanoseconds / nanosecondsPerTick))
        w.u32(limit)
        w.u32(Self.probability(loss))
        w.u32(0) // gap: no reordering
        w.u32(Self.probability(duplicate))
        w.u32(UInt32(clamping: jitter.nanoseconds / nanosecondsPerTick))
        var delay64 = ByteWriter(); delay64.u64(delay.nanoseconds)
        var jitter64 = ByteWriter(); jitter64.u64(jitter.nanoseconds)
        w.attribute(NetemAttribute.latency64, delay64.bytes)
        w.attribute(NetemAttribute.jitter64, jitter64.bytes)
        return w.bytes
    }

    /// Reads netem's TCA_OPTIONS as the kernel dumps it.
    init?(options: NetlinkAttributes.Attribute) {
        let bytes = Array(options.value)
        guard bytes.count >= NetemAttribute.qoptSize else { return nil }
        let rest = NetlinkAttributes(bytes, from: NetemAttribute.qoptSize)
        let delay = rest[NetemAttribute.latency64]?.u64 ?? UInt64(TokenBucket.u32(bytes, 0)) * nanosecondsPerTick
        let jitter = rest[NetemAttribute.jitter64]?.u64 ?? UInt64(TokenBucket.u32(bytes, 20)) * nanosecondsPerTick
        self.init(delay: TimeSpan(nanoseconds: delay), jitter: TimeSpan(nanoseconds: jitter),
                  loss: Self.percent(probability: TokenBucket.u32(bytes, 8)),
                  duplicate: Self.percent(probability: TokenBucket.u32(bytes, 16)), limit: TokenBucket.u32(bytes, 4))
    }
}

extension Impairment {
    /// Whether the qdiscs read back (as an Impairment) are this one, allowing for the
    /// kernel's rounding of a token bucket's burst and of netem's percentages (`asInstalled`).
    public func matches(_ installed: Impairment) -> Bool {
        guard emulation?.asInstalled == installed.emulation else { return false }
        switch (rate, installed.rate) {
        case (nil, nil): return true
        case (let a?, let b?): return a.matches(b)
        default: return false
        }
    }
}

extension Qdisc {
    /// Decodes an RTM_NEWQDISC message; nil if it is not one or is too short.
    init?(message: NetlinkMessage) {
        guard message.type == RTMQdisc.newQdisc, message.payload.count >= tcmsgSize,
              let index = message.u32(at: 4), let handle = message.u32(at: 8), let parent = message.u32(at: 12) else { return nil }
        let attributes = message.attributes(after: tcmsgSize)
        let kind = attributes[TCA.kind]?.string ?? ""
        var options: QdiscOptions?
        if let raw = attributes[TCA.options] {
            switch kind {
            case "tbf": options = TokenBucket(options: raw).map(QdiscOptions.tokenBucket)
            case "netem": options = NetworkEmulation(options: raw).map(QdiscOptions.networkEmulation)
            default: break
            }
        }
        self.init(linkIndex: Int32(bitPattern: index), handle: QdiscHandle(rawValue: handle), parent: QdiscHandle(rawValue: parent),
                  kind: kind, options: options)
    }
}
