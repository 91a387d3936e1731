public import BerthCore

/// A queueing discipline as the kernel reports it (RTM_NEWQDISC): which link, where it
/// hangs, its kind and, for the kinds Berth configures, its options.
public struct Qdisc: Sendable, Hashable, CustomStringConvertible {
    /// The link's index.
    public var linkIndex: Int32
    /// The qdisc's own handle (`1:`); zero for the kernel's default ones.
    public var handle: QdiscHandle
    /// Where it hangs: `.root`, or a class of its parent (`1:1`).
    public var parent: QdiscHandle
    /// The kind name (`tbf`, `netem`, `noqueue`, `pfifo_fast`, …).
    public var kind: String
    /// The options decoded for `tbf` and `netem`; nil for other kinds.
    public var options: QdiscOptions?

    /// A qdisc of `kind` on the link with index `linkIndex`.
    public init(linkIndex: Int32, handle: QdiscHandle, parent: QdiscHandle, kind: String, options: QdiscOptions? = nil) {
        self.linkIndex = linkIndex
        self.handle = handle
        self.parent = parent
        self.kind = kind
        self.options = options
    }

    /// Whether it is the link's root (egress) qdisc.
    public var isRoot: Bool { parent == .root }

    public var description: String {
        var text = "qdisc \(kind) \(handle) dev \(linkIndex) " + (isRoot ? "root" : "parent \(parent)")
        if let options { text += " \(options)" }
        return text
    }
}

/// A traffic-control handle, `MAJOR:MINOR` in hex as `tc` prints it.
public struct QdiscHandle: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The handle `major:minor`.
    public init(major: UInt16, minor: UInt16 = 0) { rawValue = UInt32(major) << 16 | UInt32(minor) }

    /// TC_H_ROOT: the parent of a link's egress root qdisc.
    public static let root = QdiscHandle(rawValue: 0xFFFF_FFFF)
    /// No handle: the kernel picks one.
    public static let unspecified = QdiscHandle(rawValue: 0)

    /// The upper 16 bits: the qdisc's number.
    public var major: UInt16 { UInt16(rawValue >> 16) }
    /// The lower 16 bits: the class within the qdisc (0 for the qdisc itself).
    public var minor: UInt16 { UInt16(rawValue & 0xFFFF) }

    public var description: String {
        if self == .root { return "root" }
        return String(major, radix: 16) + ":" + (minor == 0 ? "" : String(minor, radix: 16))
    }
}

/// The options of the queueing disciplines Berth installs.
public enum QdiscOptions: Sendable, Hashable, CustomStringConvertible {
    /// `tbf` options.
    case tokenBucket(TokenBucket)
    /// `netem` options.
    case networkEmulation(NetworkEmulation)

    /// The kind name the kernel knows it by.
    public var kind: String {
        switch self {
        case .tokenBucket: "tbf"
        case .networkEmulation: "netem"
        }
    }

    public var description: String {
        switch self {
        case .tokenBucket(let tbf): "\(tbf)"
        case .networkEmulation(let netem): "\(netem)"
        }
    }
}

/// A token-bucket filter (`tbf`): traffic leaves at `rate`, in bursts of at most `burst`
/// bytes, and at most `limit` bytes wait in its queue (beyond, packets are dropped).
public struct TokenBucket: Sendable, Hashable, CustomStringConvertible {
    /// The rate traffic leaves at.
    public var rate: DataRate
    /// Bucket size in bytes.
    public var burst: UInt32
    /// Queue size in bytes.
    public var limit: UInt32

    /// A bucket of `burst` bytes and a queue of `limit` bytes, emptied at `rate`.
    public init(rate: DataRate, burst: UInt32, limit: UInt32) {
        self.rate = rate
        self.burst = burst
        self.limit = limit
    }

    /// `rate` with the bucket and queue sized as is usual: a burst of 10 ms of traffic (at
    /// least 32 KiB, so a full-size segment of a veth's offloads fits, and at least one
    /// frame of `mtu`, see `fitting(mtu:)`), and a queue that holds `latency` of traffic on
    /// top of it.
    public init(rate: DataRate, mtu: UInt32? = nil, latency: TimeSpan = TimeSpan(nanoseconds: 50_000_000)) {
        let bytesPerSecond = max(rate.bytesPerSecond, 1)
        let burst = max(bytesPerSecond / 100, 32 * 1024)
        let queued = bytesPerSecond.multipliedReportingOverflow(by: latency.nanoseconds)
        // Saturating: past about 3 tbit/s the queue overflows 64 bits, and a trap here would
        // stop the program reading a file or an `impair` (a lab refuses such a rate after).
        let total = (queued.overflow ? UInt64.max : queued.partialValue / 1_000_000_000).addingReportingOverflow(burst)
        let limit = total.overflow ? UInt64.max : total.partialValue
        self.init(rate: rate, burst: UInt32(clamping: burst), limit: UInt32(clamping: limit))
        if let mtu { self = fitting(mtu: mtu) }
    }

    /// The largest frame a link of `mtu` sends: the MTU and an Ethernet header.
    public static func frameSize(mtu: UInt32) -> UInt32 { mtu.addingReportingOverflow(14).overflow ? .max : mtu + 14 }

    /// This bucket with its burst raised, if it is smaller, to one frame of a link of `mtu`
    /// (`frameSize`), and its queue by as much: tbf drops every packet larger than its burst
    /// that is not a GSO segment it can split (the kernel logs "burst … is lower than device
    /// mtu"), so a 32 KiB burst on a link of MTU 65535 would drop large pings silently.
    public func fitting(mtu: UInt32) -> TokenBucket {
        let frame = Self.frameSize(mtu: mtu)
        guard burst < frame else { return self }
        let raised = limit.addingReportingOverflow(frame - burst)
        return TokenBucket(rate: rate, burst: frame, limit: raised.overflow ? .max : raised.partialValue)
    }

    public var description: String { "tbf rate \(rate) burst \(burst)b limit \(limit)b" }
}

/// Network emulation (`netem`): delay with jitter, random loss and duplication.
public struct NetworkEmulation: Sendable, Hashable, CustomStringConvertible {
    /// The delay added to every packet.
    public var delay: TimeSpan
    /// The random variation of `delay`, up to this much either way.
    public var jitter: TimeSpan
    /// Packets lost, in percent (0–100).
    public var loss: Double
    /// Packets duplicated, in percent (0–100).
    public var duplicate: Double
    /// Packets the queue holds (netem's default is 1000).
    public var limit: UInt32

    /// Emulation with the given delay, jitter, loss and duplication (percent) and a queue of `limit` packets.
    public init(delay: TimeSpan = .zero, jitter: TimeSpan = .zero, loss: Double = 0, duplicate: Double = 0, limit: UInt32 = 1000) {
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.duplicate = duplicate
        self.limit = limit
    }

    public var description: String {
        var text = "netem limit \(limit)"
        if delay != .zero { text += " delay \(delay)" }
        if jitter != .zero { text += " \(jitter)" }
        if loss > 0 { text += " loss \(Self.percent(loss))" }
        if duplicate > 0 { text += " duplicate \(Self.percent(duplicate))" }
        return text
    }

    static func percent(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return (scaled == scaled.rounded() ? "\(Int(scaled))" : "\(scaled)") + "%"
    }

    /// A percentage as the kernel's 32-bit probability (UINT32_MAX is 100%).
    static func probability(_ percent: Double) -> UInt32 {
        let clamped = min(max(percent, 0), 100)
        return UInt32((clamped / 100 * Double(UInt32.max)).rounded())
    }

    /// The kernel's 32-bit probability as a percentage, to three decimals.
    static func percent(probability: UInt32) -> Double {
        (Double(probability) / Double(UInt32.max) * 100_000).rounded() / 1000
    }
}

/// What a link's egress should suffer: a rate limit, network emulation, or both.
///
/// Installed as qdiscs: a rate alone is a `tbf` root (handle `1:`); emulation alone a
/// `netem` root (`1:`); both a `netem` root with the `tbf` as its child (`2:` under `1:1`),
/// so packets are delayed first and then shaped, the layout netem's documentation gives.
public struct Impairment: Sendable, Hashable, CustomStringConvertible {
    /// The rate limit, if any.
    public var rate: TokenBucket?
    /// The network emulation, if any.
    public var emulation: NetworkEmulation?

    /// An impairment of `rate`, `emulation`, both or neither.
    public init(rate: TokenBucket? = nil, emulation: NetworkEmulation? = nil) {
        self.rate = rate
        self.emulation = emulation
    }

    /// Nothing to install.
    public var isEmpty: Bool { rate == nil && emulation == nil }

    /// The root qdisc's handle.
    public static let rootHandle = QdiscHandle(major: 1)
    /// Where the token bucket hangs when it is netem's child, and its handle.
    public static let childParent = QdiscHandle(major: 1, minor: 1)
    /// The token bucket's handle when it is netem's child (`2:`).
    public static let childHandle = QdiscHandle(major: 2)

    /// The qdiscs that implement it, root first: (parent, handle, options).
    public var layout: [(parent: QdiscHandle, handle: QdiscHandle, options: QdiscOptions)] {
        switch (emulation, rate) {
        case (nil, nil): []
        case (nil, let tbf?): [(.root, Self.rootHandle, .tokenBucket(tbf))]
        case (let netem?, nil): [(.root, Self.rootHandle, .networkEmulation(netem))]
        case (let netem?, let tbf?): [(.root, Self.rootHandle, .networkEmulation(netem)), (Self.childParent, Self.childHandle, .tokenBucket(tbf))]
        }
    }

    /// Reads what Berth installed from a link's qdiscs (as `RouteNetlink.qdiscs` lists
    /// them); qdiscs of other kinds or elsewhere in the tree are ignored.
    public init(qdiscs: [Qdisc]) {
        self.init()
        guard let root = qdiscs.first(where: \.isRoot) else { return }
        switch root.options {
        case .tokenBucket(let tbf): rate = tbf
        case .networkEmulation(let netem):
            emulation = netem
            if let child = qdiscs.first(where: { $0.parent.major == root.handle.major && !$0.isRoot }),
               case .tokenBucket(let tbf) = child.options {
                rate = tbf
            }
        case nil: break
        }
    }

    /// The root qdisc among a link's `qdiscs` that is of a kind Berth does not install and
    /// not the kernel's default (`noqueue`, `pfifo_fast`, … have handle `0:`): one added
    /// by hand, such as an `htb`. `init(qdiscs:)` reads it as no impairment.
    public static func foreignRoot(_ qdiscs: [Qdisc]) -> Qdisc? {
        guard let root = qdiscs.first(where: \.isRoot), root.options == nil, root.handle.major != 0 else { return nil }
        return root
    }

    public var description: String {
        let parts = [emulation.map(\.description), rate.map(\.description)].compactMap { $0 }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
