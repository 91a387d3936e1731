internal import CNFTNL
import BerthCore
import BerthNetlink

/// The libnftnl boundary: Swift values to libnftnl objects and netlink messages, and back.
/// Nothing here leaks a C type. Each object kind has its own file (`NFTNL+Tables`, `+Chains`,
/// `+Rules`, `+Sets`, `+Elements`): the message that changes it and the parser of its replies;
/// expressions, user data and batch framing have theirs.
enum NFTNL {
    // MARK: Message types and flags

    enum MessageType {
        static let newTable: UInt16 = 0, getTable: UInt16 = 1, delTable: UInt16 = 2
        static let newChain: UInt16 = 3, getChain: UInt16 = 4, delChain: UInt16 = 5
        static let newRule: UInt16 = 6, getRule: UInt16 = 7, delRule: UInt16 = 8
        static let newSet: UInt16 = 9, getSet: UInt16 = 10, delSet: UInt16 = 11
        static let newSetElem: UInt16 = 12, getSetElem: UInt16 = 13, delSetElem: UInt16 = 14
        static let newGen: UInt16 = 15, getGen: UInt16 = 16
        // Linux 6.3+: delete if present (NFT_MSG_DESTROY*); Debian 12's headers predate them.
        static let destroyTable: UInt16 = 26, destroyChain: UInt16 = 27, destroyRule: UInt16 = 28
        static let destroySet: UInt16 = 29, destroySetElem: UInt16 = 30
    }

    static let subsystem: UInt16 = 10 // NFNL_SUBSYS_NFTABLES
    static let batchBegin: UInt16 = 0x10, batchEnd: UInt16 = 0x11

    // MARK: Message building

    /// Builds one message into a scratch buffer of `capacity` bytes with `body`.
    ///
    /// libnftnl writes without checking the buffer's end: `capacity` must be an upper bound
    /// of what `body` writes (`NFTNL+Sizes`), never a fixed guess; the default is for
    /// messages of fixed-size attributes only.
    ///
    /// Throws when the header cannot be built or `body` throws (an object libnftnl could not
    /// allocate): a message missing its payload must never go out in a batch that would
    /// commit without it.
    static func message(type: UInt16, family: UInt32, flags: UInt16, sequence: UInt32, capacity: Int = 1024,
                        _ body: (UnsafeMutablePointer<nlmsghdr>) throws(BerthError) -> Void) throws(BerthError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var failure: BerthError?
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                  let nlh = nftnl_nlmsg_build_hdr(base, type, UInt16(family), flags, sequence) else {
                failure = BerthError(.system, "build the header of nftables message \(type)")
                return 0
            }
            do throws(BerthError) {
                try body(nlh)
            } catch {
                failure = error
                return 0
            }
            return Int(nlh.pointee.nlmsg_len)
        }
        if let failure { throw failure }
        return Array(buffer.prefix(length))
    }
}
