// ctnetlink numbers from the kernel's uapi headers (linux/netfilter/nfnetlink.h,
// nfnetlink_conntrack.h, nf_conntrack_common.h). Kernel ABI, spelled in Swift like the
// rtnetlink ones so no C type reaches the message code.

/// ctnetlink message types: `(NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_*`.
enum CTNL {
    static let subsystem: UInt16 = 1
    static let new: UInt16 = subsystem << 8 | 0
    static let get: UInt16 = subsystem << 8 | 1
    static let delete: UInt16 = subsystem << 8 | 2
    /// NFNETLINK_V0, the only version of the nfgenmsg header.
    static let version: UInt8 = 0
    /// sizeof(struct nfgenmsg).
    static let headerSize = 4
}

/// Conntrack attributes (CTA_*).
enum CTA {
    static let tupleOrig: UInt16 = 1
    static let tupleReply: UInt16 = 2
    static let status: UInt16 = 3
    static let timeout: UInt16 = 7
    static let mark: UInt16 = 8
    static let id: UInt16 = 12
    static let zone: UInt16 = 18

    /// Inside a tuple (CTA_TUPLE_*).
    static let tupleIP: UInt16 = 1
    static let tupleProto: UInt16 = 2
    static let tupleZone: UInt16 = 3

    /// Inside CTA_TUPLE_IP (CTA_IP_*).
    static let ipV4Src: UInt16 = 1
    static let ipV4Dst: UInt16 = 2
    static let ipV6Src: UInt16 = 3
    static let ipV6Dst: UInt16 = 4

    /// Inside CTA_TUPLE_PROTO (CTA_PROTO_*).
    static let protoNum: UInt16 = 1
    static let protoSrcPort: UInt16 = 2
    static let protoDstPort: UInt16 = 3
}
