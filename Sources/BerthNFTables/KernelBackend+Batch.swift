import BerthCore
import BerthNamespace
import BerthNetlink

/// A transaction as one acknowledged nfnetlink batch: each operation's message, consecutive
/// element operations on one set sharing messages, and the operation a refusal points at.
extension KernelBackend {
    /// A refused batch: the netlink error and the operation it points at.
    struct BatchFailure: Error {
        let netlink: NetlinkError
        let operation: Transaction.Operation?
    }

    func send(_ operations: [Transaction.Operation], generation: UInt32?) throws(BatchFailure) {
        var request = NetlinkRequest()
        // The operation each message carries, in message order (the request's entry i + 1:
        // entry 0 is the batch's begin), read only when the kernel refuses a message. An
        // array found by position: a dictionary's first `UInt32: Hashable` use costs a scan
        // of every conformance record, and an array of a type of its own, or of tuples, a
        // generic metadata build at first use (docs/performance.md, perf7 and perf8).
        var carried: [Transaction.Operation] = []
        let begin = transport.nextSequence()
        request.append(rawMessage: NFTNL.batchBegin(sequence: begin, generation: generation), sequence: begin,
                       operation: generation.map { "begin nftables batch at generation \($0)" } ?? "begin nftables batch", expectsAck: false)
        var index = 0
        do {
            while index < operations.count {
                let operation = operations[index]
                let sequence = transport.nextSequence()
                if case .element(_, let set) = operation.object {
                    // Consecutive element operations on one set share messages.
                    var group: [Element] = []
                    var bytes = 0
                    var end = index
                    while end < operations.count, operations[end].verb == operation.verb,
                          case .element(let e, let s) = operations[end].object, s == set {
                        let size = NFTNL.elementSize(e)
                        guard bytes + size < Self.elementBytesPerMessage else { break }
                        group.append(e)
                        bytes += size
                        end += 1
                    }
                    let (type, flags) = Self.messageType(operation)
                    let text = group.count == 1 ? operation.description
                        : "\(operation.verb) \(group.count) elements \(operation.verb == .add || operation.verb == .create ? "to" : "from") \(set.label) { \(group[0].rendered), … }"
                    request.append(rawMessage: try NFTNL.elementsMessage(set, group, type: type, flags: flags | NetlinkFlags.ack, sequence: sequence),
                                   sequence: sequence, operation: text, expectsAck: true)
                    carried.append(operation)
                    index = end
                    continue
                }
                request.append(rawMessage: try Self.message(operation, sequence: sequence), sequence: sequence,
                               operation: operation.description, expectsAck: true)
                carried.append(operation)
                index += 1
            }
        } catch {
            throw BatchFailure(netlink: NetlinkError(errno: Errno(KernelErrno.invalid), operation: "\(error)"), operation: nil)
        }
        let end = transport.nextSequence()
        request.append(rawMessage: NFTNL.batchEnd(sequence: end), sequence: end, operation: "end nftables batch", expectsAck: false)
        do {
            _ = try transport.transact(request)
        } catch {
            let entry = request.entries.firstIndex { $0.sequence == error.sequence }
            let refused = entry.flatMap { $0 >= 1 && $0 <= carried.count ? carried[$0 - 1] : nil }
            throw BatchFailure(netlink: error, operation: refused)
        }
    }

    static func messageType(_ operation: Transaction.Operation) -> (UInt16, UInt16) {
        typealias M = NFTNL.MessageType
        let create = NetlinkFlags.create, excl = NetlinkFlags.exclusive
        switch (operation.object, operation.verb) {
        case (.table, .add): return (M.newTable, create)
        case (.table, .create): return (M.newTable, create | excl)
        case (.table, .destroy): return (M.destroyTable, 0)
        case (.table, _): return (M.delTable, 0)
        case (.chain, .add): return (M.newChain, create)
        case (.chain, .create): return (M.newChain, create | excl)
        case (.chain, .destroy): return (M.destroyChain, 0)
        case (.chain, _): return (M.delChain, 0)
        case (.rule, .add): return (M.newRule, create | NetlinkFlags.append)
        case (.rule, .insert): return (M.newRule, create)
        case (.rule, .replace): return (M.newRule, NetlinkFlags.replace)
        case (.rule, .destroy): return (M.destroyRule, 0)
        case (.rule, _): return (M.delRule, 0)
        case (.set, .add): return (M.newSet, create)
        case (.set, .create): return (M.newSet, create | excl)
        case (.set, .flush): return (M.delSetElem, 0)
        case (.set, .destroy): return (M.destroySet, 0)
        case (.set, _): return (M.delSet, 0)
        case (.element, .add): return (M.newSetElem, create)
        case (.element, .create): return (M.newSetElem, create | excl)
        case (.element, .destroy): return (M.destroySetElem, 0)
        case (.element, _): return (M.delSetElem, 0)
        }
    }

    static func message(_ operation: Transaction.Operation, sequence: UInt32) throws(BerthError) -> [UInt8] {
        let (type, flags) = messageType(operation)
        let f = flags | NetlinkFlags.ack
        switch operation.object {
        case .table(let t): return try NFTNL.tableMessage(t, type: type, flags: f, sequence: sequence)
        case .chain(let c): return try NFTNL.chainMessage(c, type: type, flags: f, sequence: sequence)
        case .rule(let r): return try NFTNL.ruleMessage(r, type: type, flags: f, sequence: sequence)
        case .set(let s):
            if operation.verb == .flush { return try NFTNL.elementsMessage(s, [], type: type, flags: f, sequence: sequence) }
            return try NFTNL.setMessage(s, type: type, flags: f, sequence: sequence)
        case .element(let e, let s): return try NFTNL.elementsMessage(s, [e], type: type, flags: f, sequence: sequence)
        }
    }
}
