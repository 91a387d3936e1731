@testable import BerthNetlink
import BerthTestSupport

/// A transport that keeps every request instead of sending it, numbers messages from 1,
/// acknowledges everything, and — like the kernel — answers a message flagged NLM_F_ECHO
/// with a copy of itself, so creations return a link without a kernel.
final class RecordingTransport: NetlinkTransport, @unchecked Sendable {
    private(set) var requests: [NetlinkRequest] = []
    private var sequence: UInt32 = 0

    func nextSequence() -> UInt32 {
        sequence += 1
        return sequence
    }

    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        let messages = request.bytes.withUnsafeBytes { NetlinkMessage.split($0) }
        return messages.filter { $0.flags & NetlinkFlags.echo != 0 }
    }

    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        return []
    }

    /// Every request so far, annotated, one line per header, struct and attribute.
    var annotated: String {
        requests.map { NetlinkAnnotator.annotate($0.bytes) }.joined(separator: "\n")
    }
}
