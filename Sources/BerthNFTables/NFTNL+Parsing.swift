internal import CNFTNL
import BerthCore
import BerthNetlink

/// Helpers the parsers of kernel replies share: a reply as libnftnl's parsers take it (a
/// whole `nlmsghdr`), and C strings and byte blobs copied out of libnftnl objects.
extension NFTNL {
    /// Runs `body` on `message` with its header rebuilt in front, as libnftnl's parsers take it.
    static func withHeader<T>(_ message: NetlinkMessage, _ body: (UnsafePointer<nlmsghdr>) -> T?) -> T? {
        var bytes = u32le(UInt32(16 + message.payload.count))
        bytes += withUnsafeBytes(of: message.type.littleEndian) { Array($0) }
        bytes += withUnsafeBytes(of: message.flags.littleEndian) { Array($0) }
        bytes += u32le(message.sequence) + u32le(message.portID) + message.payload
        return bytes.withUnsafeBytes { raw in
            // 16 bytes at least, so the base address exists; still, no force-unwrap on kernel data.
            guard let base = raw.baseAddress else { return nil }
            return body(base.assumingMemoryBound(to: nlmsghdr.self))
        }
    }

    /// A C string copied out of libnftnl; empty if absent.
    static func string(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }

    /// A byte blob copied out of libnftnl through a getter that reports its length.
    static func data(_ get: (UnsafeMutablePointer<UInt32>) -> UnsafeRawPointer?) -> [UInt8] {
        var length: UInt32 = 0
        guard let pointer = get(&length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
    }
}
