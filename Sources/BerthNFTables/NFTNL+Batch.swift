import BerthCore
import BerthNetlink

/// Batch framing: the NFNL_MSG_BATCH_BEGIN/END messages around a transaction's messages.
extension NFTNL {
    /// NFNL_MSG_BATCH_BEGIN, with NFNL_BATCH_GENID when a generation guard is wanted.
    static func batchBegin(sequence: UInt32, generation: UInt32?) -> [UInt8] {
        var attrs: [UInt8] = []
        if let generation {
            attrs = [8, 0, 1, 0] + withUnsafeBytes(of: generation.bigEndian) { Array($0) }
        }
        return batchHeader(type: batchBegin, sequence: sequence, attributes: attrs)
    }

    static func batchEnd(sequence: UInt32) -> [UInt8] {
        batchHeader(type: batchEnd, sequence: sequence, attributes: [])
    }

    private static func batchHeader(type: UInt16, sequence: UInt32, attributes: [UInt8]) -> [UInt8] {
        let length = UInt32(16 + 4 + attributes.count)
        var bytes: [UInt8] = []
        bytes += u32le(length)
        bytes += withUnsafeBytes(of: type.littleEndian) { Array($0) }
        bytes += withUnsafeBytes(of: NetlinkFlags.request.littleEndian) { Array($0) }
        bytes += u32le(sequence) + u32le(0)
        // nfgenmsg: family AF_UNSPEC, version 0, res_id = NFNL_SUBSYS_NFTABLES (big-endian).
        bytes += [0, 0, 0, UInt8(subsystem)]
        return bytes + attributes
    }
}
