import BerthNamespace
@testable import BerthNetlink

/// Answers nf_tables read requests from a script, as a kernel holding those objects would,
/// and keeps every request: the scoped-read goldens need no kernel.
final class ScriptedTransport: NetlinkTransport, @unchecked Sendable {
    private(set) var requests: [NetlinkRequest] = []
    private var sequence: UInt32 = 0
    /// Reply messages per NFT_MSG_GET* type (the low byte of nlmsg_type).
    var replies: [UInt16: [[UInt8]]] = [:]
    /// GETSETELEM replies per set name.
    var elementReplies: [String: [[UInt8]]] = [:]
    /// An errno to refuse a message type with.
    var refusals: [UInt16: Int32] = [:]

    func nextSequence() -> UInt32 {
        sequence += 1
        return sequence
    }

    func transact(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        try answer(request)
    }

    func dump(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        try answer(request)
    }

    private func answer(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        requests.append(request)
        let messages = request.bytes.withUnsafeBytes { NetlinkMessage.split($0) }
        guard let first = messages.first else { return [] }
        let type = first.type & 0xff
        if let code = refusals[type] {
            throw NetlinkError(errno: Errno(code), operation: request.operation(for: first.sequence) ?? "", sequence: first.sequence)
        }
        // NFTA_SET_ELEM_LIST_SET (2) names the set whose elements are asked for.
        let script = type == 13 ? elementReplies[first.attributes(after: 4)[2]?.string ?? ""] ?? [] : replies[type] ?? []
        return script.flatMap { bytes in bytes.withUnsafeBytes { NetlinkMessage.split($0) } }
    }

    /// Every request so far, annotated.
    var annotated: String {
        requests.map { NFNetlinkAnnotator.annotate($0.bytes) }.joined(separator: "\n")
    }
}
