#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
@testable import BerthNetlink
import Testing

/// An NLMSG_ERROR's code comes from the kernel: one no kernel sends must become an error,
/// never a trap (`-Int32.min` overflows).
@Suite("netlink error codes from kernel bytes")
struct NetlinkErrorCodeTests {
    private func errorMessage(_ code: Int32) -> NetlinkMessage {
        var payload = withUnsafeBytes(of: code.littleEndian) { Array($0) }
        payload += [UInt8](repeating: 0, count: 16)
        return NetlinkMessage(type: NetlinkMessageType.error, flags: 0, sequence: 1, portID: 0, payload: payload)
    }

    @Test("an errno, an ack, Int32.min and a positive code", arguments: [
        (Int32(-17), Int32(-17)), (Int32(0), Int32(0)), (Int32.min, -EPROTO), (Int32(5), -EPROTO),
    ] as [(Int32, Int32)])
    func codes(raw: Int32, expected: Int32) {
        #expect(NetlinkSocket.parseError(errorMessage(raw)).0 == expected)
        // Every checked code negates without a trap.
        #expect(-NetlinkSocket.parseError(errorMessage(raw)).0 >= 0)
    }
}
