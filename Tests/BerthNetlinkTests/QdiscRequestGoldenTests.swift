import BerthCore
@testable import BerthNetlink
import BerthTestSupport
import Testing

/// The exact bytes of the qdisc requests (tbf, netem, their composition), through a
/// recorder. netem cannot be installed on this project's kernels, so these goldens are the
/// proof of its request; the struct offsets were checked against linux/pkt_sched.h.
@Suite("qdisc request goldens")
struct QdiscRequestGoldenTests {
    let transport = RecordingTransport()
    var netlink: RouteNetlink { RouteNetlink(transport: transport) }

    static let netem = NetworkEmulation(delay: TimeSpan(nanoseconds: 20_000_000), jitter: TimeSpan(nanoseconds: 2_000_000), loss: 0.5, duplicate: 1)

    @Test("a tbf's burst holds at least one frame of the link (MTU + 14): raised with its queue, never lowered")
    func burstFitsTheMTU() throws {
        let rate = try DataRate(parsing: "10mbit")
        #expect(TokenBucket(rate: rate).burst == 32_768)
        let big = TokenBucket(rate: rate, mtu: 65_535)
        #expect(big.burst == 65_549 && big.limit == 62_500 + 65_549)
        #expect(TokenBucket(rate: rate).fitting(mtu: 65_535) == big)
        #expect(TokenBucket(rate: rate, mtu: 1500) == TokenBucket(rate: rate))
        let fast = TokenBucket(rate: try DataRate(parsing: "100mbit"))
        #expect(fast.fitting(mtu: 9000) == fast && fast.burst == 125_000)
        #expect(TokenBucket(rate: rate, burst: 100, limit: .max).fitting(mtu: .max) == TokenBucket(rate: rate, burst: .max, limit: .max))
        try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.tokenBucket(big), on: .index(3)) }
        #expect(transport.annotated.contains("TCA_TBF_BURST 65549 |"), "\(transport.annotated)")
    }

    @Test("tbf at the root: rate in bytes per second, ethernet link layer (no rate table), burst as bytes and as ticks")
    func tokenBucket() throws {
        let tbf = TokenBucket(rate: try DataRate(parsing: "100mbit"))
        #expect(tbf.burst == 125_000 && tbf.limit == 750_000)
        try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.tokenBucket(tbf), on: .index(3)) }
        expectGolden(transport.annotated, """
        nlmsghdr len=96 type=RTM_NEWQDISC flags=REQUEST|ACK|REPLACE|CREATE seq=1 | 60 00 00 00 24 00 05 05 01 00 00 00 00 00 00 00
        tcmsg family=0 ifindex=3 handle=1:0 parent=root info=0 | 00 00 00 00 03 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
          TCA_KIND "tbf" | 08 00 01 00 74 62 66 00
          TCA_OPTIONS NESTED | 34 00 02 80
            TCA_TBF_PARMS rate.linklayer=1 rate.rate=12500000 peakrate.rate=0 limit=750000 buffer=156250 mtu=0 | 28 00 01 00 00 01 00 00 00 00 00 00 20 bc be 00 00 00 00 00 00 00 00 00 00 00 00 00 b0 71 0b 00 5a 62 02 00 00 00 00 00
            TCA_TBF_BURST 125000 | 08 00 06 00 48 e8 01 00
        """)
    }

    @Test("a tbf rate below 8 bit/s (0 bytes per second, which the kernel reads as no limit) is refused, nothing sent")
    func tokenBucketBelowOneByte() throws {
        let tbf = TokenBucket(rate: DataRate(bitsPerSecond: 7))
        #expect(throws: BerthError.self) {
            try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.tokenBucket(tbf), on: .index(3)) }
        }
        do {
            try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.tokenBucket(tbf), on: .index(3)) }
        } catch {
            #expect(error.code == .invalidArgument && error.parameter == "rate" && error.message.contains("below 8 bit/s"), "\(error)")
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("netem at the root: tc_netem_qopt (ticks of 64 ns, probabilities of 2^32-1) then 64-bit delays, not nested")
    func networkEmulation() throws {
        try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.networkEmulation(Self.netem), on: .index(4)) }
        expectGolden(transport.annotated, """
        nlmsghdr len=100 type=RTM_NEWQDISC flags=REQUEST|ACK|REPLACE|CREATE seq=1 | 64 00 00 00 24 00 05 05 01 00 00 00 00 00 00 00
        tcmsg family=0 ifindex=4 handle=1:0 parent=root info=0 | 00 00 00 00 04 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
          TCA_KIND "netem" | 0a 00 01 00 6e 65 74 65 6d 00 00 00
          TCA_OPTIONS | 34 00 02 00
            tc_netem_qopt latency=312500 limit=1000 loss=21474836 gap=0 duplicate=42949673 jitter=31250 | b4 c4 04 00 e8 03 00 00 14 ae 47 01 00 00 00 00 29 5c 8f 02 12 7a 00 00
            TCA_NETEM_LATENCY64 20000000 | 0c 00 0a 00 00 2d 31 01 00 00 00 00
            TCA_NETEM_JITTER64 2000000 | 0c 00 0b 00 80 84 1e 00 00 00 00 00
        """)
    }

    @Test("rate and netem together: the old root goes, netem at the root, tbf as its child 2: under 1:1, one sendmsg")
    func composition() throws {
        let tbf = TokenBucket(rate: DataRate(bitsPerSecond: 8_000_000), burst: 32_768, limit: 82_768)
        let installed = Impairment(rate: tbf)
        try netlink.apply { changes throws(BerthError) in
            try changes.setImpairment(Impairment(rate: tbf, emulation: Self.netem), on: .index(5), installed: installed)
        }
        #expect(transport.requests.count == 1)
        #expect(transport.requests.first?.expectedAcks == 3)
        expectGolden(transport.annotated, GOLDEN_COMPOSITION)
    }

    @Test("the same layout changes in place; an empty impairment deletes the root")
    func changeAndClear() throws {
        let old = Impairment(rate: TokenBucket(rate: DataRate(bitsPerSecond: 8_000_000)))
        let new = Impairment(rate: TokenBucket(rate: DataRate(bitsPerSecond: 16_000_000)))
        try netlink.apply { changes throws(BerthError) in
            try changes.setImpairment(new, on: .index(6), installed: old)
            try changes.setImpairment(Impairment(), on: .index(7), installed: old)
            try changes.setImpairment(Impairment(), on: .index(8))
        }
        expectGolden(transport.annotated, GOLDEN_CHANGE_AND_CLEAR)
    }

    @Test("a root qdisc added by hand (htb 1:) is foreign, the kernel's default (noqueue 0:) and Berth's tbf are not; a non-empty impairment deletes the foreign root first, an empty one leaves it")
    func foreignRoot() throws {
        let tbf = TokenBucket(rate: DataRate(bitsPerSecond: 8_000_000))
        let htb = Qdisc(linkIndex: 6, handle: QdiscHandle(major: 1), parent: .root, kind: "htb")
        #expect(Impairment.foreignRoot([htb]) == htb)
        #expect(Impairment.foreignRoot([Qdisc(linkIndex: 6, handle: QdiscHandle(major: 0), parent: .root, kind: "noqueue")]) == nil)
        #expect(Impairment.foreignRoot([Qdisc(linkIndex: 6, handle: QdiscHandle(major: 1), parent: .root, kind: "tbf", options: .tokenBucket(tbf))]) == nil)
        #expect(Impairment.foreignRoot([]) == nil)
        try netlink.apply { changes throws(BerthError) in
            try changes.setImpairment(Impairment(rate: tbf), on: .index(6), foreignRoot: htb)
            try changes.setImpairment(Impairment(), on: .index(7), foreignRoot: htb)
        }
        let types = transport.requests.flatMap { request in request.bytes.withUnsafeBytes { NetlinkMessage.split($0) }.map(\.type) }
        #expect(types == [RTMQdisc.delQdisc, RTMQdisc.newQdisc], "\(types)")
    }

    @Test("a bucket sized for a rate whose 50 ms queue passes 64 bits (10^7 tbit/s) saturates its limit, not a trap")
    func hugeRateSaturates() {
        let tbf = TokenBucket(rate: DataRate(bitsPerSecond: 10_000_000_000_000_000_000))
        #expect(tbf.limit == .max && tbf.burst == .max)
    }

    @Test("a rate of 2^32 bytes per second or more goes as TCA_TBF_RATE64")
    func rate64() throws {
        let tbf = TokenBucket(rate: try DataRate(parsing: "40gbit"), burst: 1 << 20, limit: 1 << 22)
        try netlink.apply { changes throws(BerthError) in try changes.addQdisc(.tokenBucket(tbf), on: .index(2)) }
        expectGolden(transport.annotated, GOLDEN_RATE64)
    }

    @Test("listing qdiscs is one dump with an empty tcmsg")
    func dump() throws {
        _ = try netlink.qdiscs()
        expectGolden(transport.annotated, """
        nlmsghdr len=36 type=RTM_GETQDISC flags=REQUEST|ROOT|MATCH seq=1 | 24 00 00 00 26 00 01 03 01 00 00 00 00 00 00 00
        tcmsg family=0 ifindex=0 handle=0:0 parent=0:0 info=0 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        """)
    }

    @Test("the bytes sent read back as the same options (the kernel dumps what it was given)")
    func decodeRoundTrip() throws {
        let tbf = TokenBucket(rate: try DataRate(parsing: "100mbit"))
        try netlink.apply { changes throws(BerthError) in
            try changes.replaceQdisc(.tokenBucket(tbf), on: .index(3))
            try changes.replaceQdisc(.networkEmulation(Self.netem), on: .index(4))
        }
        let sent = try #require(transport.requests.first).bytes.withUnsafeBytes { NetlinkMessage.split($0) }
        // A dump answers RTM_NEWQDISC; relabel the requests as replies and decode them.
        let replies = sent.map { NetlinkMessage(type: RTMQdisc.newQdisc, flags: 0, sequence: 0, portID: 0, payload: $0.payload) }
        let decoded = replies.compactMap(Qdisc.init(message:))
        #expect(decoded.count == 2)
        guard case .tokenBucket(let readTBF)? = decoded.first?.options else { Issue.record("no tbf decoded"); return }
        #expect(readTBF.matches(tbf))
        #expect(decoded.last?.options == .networkEmulation(Self.netem))
        #expect(decoded.first?.isRoot == true && decoded.first?.handle == Impairment.rootHandle)
    }

    @Test("leastRate: at it a tbf's buffer (32-bit ticks) holds the burst and reads back as the same bucket; far below it, not")
    func leastRate() throws {
        let small = TokenBucket(rate: DataRate(bitsPerSecond: 500))
        #expect(small.leastRate == DataRate(bitsPerSecond: 968))
        #expect(TokenBucket(rate: DataRate(bitsPerSecond: 500), mtu: 65_535).leastRate == DataRate(bitsPerSecond: 1928))
        #expect(TokenBucket(rate: DataRate(bitsPerSecond: 1)).leastRate == DataRate(bitsPerSecond: 968))
        for (bits, same) in [(UInt64(968), true), (1928, true), (500, false), (7, false)] {
            let tbf = TokenBucket(rate: DataRate(bitsPerSecond: bits), mtu: bits == 1928 ? 65_535 : nil)
            #expect((bits >= tbf.leastRate.bitsPerSecond) == same, "\(bits)")
            guard bits >= 8 else { continue }
            let transport = RecordingTransport()
            try RouteNetlink(transport: transport).apply { changes throws(BerthError) in try changes.replaceQdisc(.tokenBucket(tbf), on: .index(3)) }
            let sent = try #require(transport.requests.first).bytes.withUnsafeBytes { NetlinkMessage.split($0) }
            let reply = NetlinkMessage(type: RTMQdisc.newQdisc, flags: 0, sequence: 0, portID: 0, payload: try #require(sent.first).payload)
            guard case .tokenBucket(let read)? = Qdisc(message: reply)?.options else { Issue.record("no tbf decoded"); continue }
            #expect(read.matches(tbf) == same, "\(bits): \(read) against \(tbf)")
        }
    }

    @Test("netem percentages finer than the kernel's read-back (three decimals) still match what it reads back")
    func fineNetemPercentagesMatch() throws {
        let netem = NetworkEmulation(delay: TimeSpan(nanoseconds: 1_000_000), loss: 0.12345, duplicate: 0.00001)
        try netlink.apply { changes throws(BerthError) in try changes.replaceQdisc(.networkEmulation(netem), on: .index(4)) }
        let sent = try #require(transport.requests.first).bytes.withUnsafeBytes { NetlinkMessage.split($0) }
        let replies = sent.map { NetlinkMessage(type: RTMQdisc.newQdisc, flags: 0, sequence: 0, portID: 0, payload: $0.payload) }
        let decoded = try #require(replies.compactMap(Qdisc.init(message:)).first)
        guard case .networkEmulation(let read)? = decoded.options else { Issue.record("no netem decoded"); return }
        #expect(read.loss == 0.123 && read.duplicate == 0)
        #expect(Impairment(emulation: netem).matches(Impairment(emulation: read)))
        var other = read
        other.loss = 0.124
        #expect(!Impairment(emulation: netem).matches(Impairment(emulation: other)))
    }

    @Test("a tbf whose burst is past 2^63 bytes (RATE64 of 2^64-1 B/s, the longest buffer) reads back clamped, not a trap")
    func hugeBurstClamped() throws {
        // RTM_NEWQDISC as another tool's tbf would be dumped: link 2, handle 1:0 at the root.
        let payload = Self.bytes("""
            00 00 00 00 02 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
            08 00 01 00 74 62 66 00
            38 00 02 80
            28 00 01 00 00 01 00 00 00 00 00 00 ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
            0c 00 04 00 ff ff ff ff ff ff ff ff
            """)
        let message = NetlinkMessage(type: RTMQdisc.newQdisc, flags: 0, sequence: 0, portID: 0, payload: payload)
        let qdisc = try #require(Qdisc(message: message))
        guard case .tokenBucket(let tbf)? = qdisc.options else { Issue.record("no tbf decoded"); return }
        #expect(tbf.burst == UInt32.max && tbf.limit == 65536)
    }

    private static func bytes(_ hex: String) -> [UInt8] {
        hex.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
    }
}

/// Checked by hand: DELQDISC at the root of link 5; netem 1: at the root; tbf 2: (0x00020000)
/// under 1:1 (0x00010001), 8mbit = 1,000,000 B/s, 32 KiB burst = 512,000 ticks of 64 ns.
private let GOLDEN_COMPOSITION = """
nlmsghdr len=36 type=RTM_DELQDISC flags=REQUEST|ACK seq=1 | 24 00 00 00 25 00 05 00 01 00 00 00 00 00 00 00
tcmsg family=0 ifindex=5 handle=0:0 parent=root info=0 | 00 00 00 00 05 00 00 00 00 00 00 00 ff ff ff ff 00 00 00 00
nlmsghdr len=100 type=RTM_NEWQDISC flags=REQUEST|ACK|REPLACE|CREATE seq=2 | 64 00 00 00 24 00 05 05 02 00 00 00 00 00 00 00
tcmsg family=0 ifindex=5 handle=1:0 parent=root info=0 | 00 00 00 00 05 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
  TCA_KIND "netem" | 0a 00 01 00 6e 65 74 65 6d 00 00 00
  TCA_OPTIONS | 34 00 02 00
    tc_netem_qopt latency=312500 limit=1000 loss=21474836 gap=0 duplicate=42949673 jitter=31250 | b4 c4 04 00 e8 03 00 00 14 ae 47 01 00 00 00 00 29 5c 8f 02 12 7a 00 00
    TCA_NETEM_LATENCY64 20000000 | 0c 00 0a 00 00 2d 31 01 00 00 00 00
    TCA_NETEM_JITTER64 2000000 | 0c 00 0b 00 80 84 1e 00 00 00 00 00
nlmsghdr len=96 type=RTM_NEWQDISC flags=REQUEST|ACK|REPLACE|CREATE seq=3 | 60 00 00 00 24 00 05 05 03 00 00 00 00 00 00 00
tcmsg family=0 ifindex=5 handle=2:0 parent=1:1 info=0 | 00 00 00 00 05 00 00 00 00 00 02 00 01 00 01 00 00 00 00 00
  TCA_KIND "tbf" | 08 00 01 00 74 62 66 00
  TCA_OPTIONS NESTED | 34 00 02 80
    TCA_TBF_PARMS rate.linklayer=1 rate.rate=1000000 peakrate.rate=0 limit=82768 buffer=512000 mtu=0 | 28 00 01 00 00 01 00 00 00 00 00 00 40 42 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 50 43 01 00 00 d0 07 00 00 00 00 00
    TCA_TBF_BURST 32768 | 08 00 06 00 00 80 00 00
"""
/// 16mbit: 2,000,000 B/s, burst 32,768 B = 256,000 ticks, limit 50 ms of traffic + burst = 132,768 B;
/// then the root of link 7 deleted; link 8 had nothing and gets nothing.
private let GOLDEN_CHANGE_AND_CLEAR = """
nlmsghdr len=96 type=RTM_NEWQDISC flags=REQUEST|ACK|REPLACE|CREATE seq=1 | 60 00 00 00 24 00 05 05 01 00 00 00 00 00 00 00
tcmsg family=0 ifindex=6 handle=1:0 parent=root info=0 | 00 00 00 00 06 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
  TCA_KIND "tbf" | 08 00 01 00 74 62 66 00
  TCA_OPTIONS NESTED | 34 00 02 80
    TCA_TBF_PARMS rate.linklayer=1 rate.rate=2000000 peakrate.rate=0 limit=132768 buffer=256000 mtu=0 | 28 00 01 00 00 01 00 00 00 00 00 00 80 84 1e 00 00 00 00 00 00 00 00 00 00 00 00 00 a0 06 02 00 00 e8 03 00 00 00 00 00
    TCA_TBF_BURST 32768 | 08 00 06 00 00 80 00 00
nlmsghdr len=36 type=RTM_DELQDISC flags=REQUEST|ACK seq=2 | 24 00 00 00 25 00 05 00 02 00 00 00 00 00 00 00
tcmsg family=0 ifindex=7 handle=0:0 parent=root info=0 | 00 00 00 00 07 00 00 00 00 00 00 00 ff ff ff ff 00 00 00 00
"""
/// 40gbit = 5e9 B/s: the 32-bit field saturates at 0xffffffff and TCA_TBF_RATE64 carries it;
/// 1 MiB burst = 3,276 ticks.
private let GOLDEN_RATE64 = """
nlmsghdr len=108 type=RTM_NEWQDISC flags=REQUEST|ACK|EXCL|CREATE seq=1 | 6c 00 00 00 24 00 05 06 01 00 00 00 00 00 00 00
tcmsg family=0 ifindex=2 handle=1:0 parent=root info=0 | 00 00 00 00 02 00 00 00 00 00 01 00 ff ff ff ff 00 00 00 00
  TCA_KIND "tbf" | 08 00 01 00 74 62 66 00
  TCA_OPTIONS NESTED | 40 00 02 80
    TCA_TBF_PARMS rate.linklayer=1 rate.rate=4294967295 peakrate.rate=0 limit=4194304 buffer=3276 mtu=0 | 28 00 01 00 00 01 00 00 00 00 00 00 ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 40 00 cc 0c 00 00 00 00 00 00
    TCA_TBF_RATE64 5000000000 | 0c 00 04 00 00 f2 05 2a 01 00 00 00
    TCA_TBF_BURST 1048576 | 08 00 06 00 00 00 10 00
"""
