// Traffic-control numbers from the kernel's uapi headers (linux/rtnetlink.h and
// linux/pkt_sched.h). Kernel ABI; spelled here so no C struct of pkt_sched.h has to be
// imported — the option structs are written byte by byte in QdiscEncoding.swift.

/// Qdisc message types.
enum RTMQdisc {
    static let newQdisc: UInt16 = 36
    static let delQdisc: UInt16 = 37
    static let getQdisc: UInt16 = 38
}

/// Attributes after a tcmsg (TCA_*).
enum TCA {
    static let kind: UInt16 = 1
    static let options: UInt16 = 2
}

/// Inside TCA_OPTIONS of a `tbf` (TCA_TBF_*).
enum TBF {
    static let parms: UInt16 = 1
    static let rate64: UInt16 = 4
    static let burst: UInt16 = 6
    /// sizeof(struct tc_tbf_qopt): two tc_ratespec (12 bytes each), limit, buffer, mtu.
    static let qoptSize = 36
}

/// Inside TCA_OPTIONS of a `netem`, after struct tc_netem_qopt (TCA_NETEM_*).
enum NetemAttribute {
    static let latency64: UInt16 = 10
    static let jitter64: UInt16 = 11
    /// sizeof(struct tc_netem_qopt): latency, limit, loss, gap, duplicate, jitter.
    static let qoptSize = 24
}

/// sizeof(struct tcmsg).
let tcmsgSize = 20
/// TC_LINKLAYER_ETHERNET: the rate is computed per byte on the wire, so the kernel needs no
/// rate table (TCA_TBF_RTAB) from user space.
let linkLayerEthernet: UInt8 = 1
/// The kernel's scheduler clock: PSCHED_TICKS2NS(x) is x << 6, one tick is 64 ns.
let nanosecondsPerTick: UInt64 = 64
