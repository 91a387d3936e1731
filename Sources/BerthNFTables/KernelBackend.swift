public import BerthCore
public import BerthNamespace
public import BerthNetlink

/// Applies transactions to the kernel's nf_tables as one `NFNL_MSG_BATCH_BEGIN … END` batch
/// built with libnftnl, every message acknowledged, so a refusal names its operation; reads
/// the ruleset back through netlink dumps.
///
/// Not for concurrent use (it owns one socket); open one per task.
public final class KernelBackend: NFTablesBackend, @unchecked Sendable {
    /// How `destroy` operations reach the kernel.
    public enum DestroyMode: Sendable {
        /// NFT_MSG_DESTROY* (Linux 6.3+); falls back to `.emulated` if the kernel refuses them.
        case native
        /// Read the ruleset and its generation, turn destroys of present objects into deletes and
        /// drop the others, and apply guarded by that generation (so the check stays atomic).
        case emulated
    }

    private let transport: any NetlinkTransport
    public var destroyMode: DestroyMode
    /// Elements per NEWSETELEM message are capped so one message stays well below 64 KiB
    /// (nested attribute lengths are 16-bit).
    static let elementBytesPerMessage = 16384

    /// Opens an nfnetlink socket inside `namespace` (the caller's if nil).
    public init(namespace: NetworkNamespace? = nil, destroyMode: DestroyMode = .native) throws(BerthError) {
        do {
            transport = try NetlinkSocket(.netfilter, in: namespace)
        } catch {
            throw error
        }
        self.destroyMode = destroyMode
    }

    /// Uses an existing transport (a socket, or a recorder in tests).
    public init(transport: any NetlinkTransport, destroyMode: DestroyMode = .native) {
        self.transport = transport
        self.destroyMode = destroyMode
    }

    // MARK: - Apply

    public func apply(_ transaction: Transaction) throws(BerthError) {
        try apply(transaction, generation: nil)
    }

    /// Applies `transaction` only if the ruleset is still at `generation` (else `.conflict`).
    public func apply(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        if let error = transaction.validationError { throw error }
        guard !transaction.isEmpty else { return }
        let hasDestroy = transaction.operations.contains { $0.verb == .destroy }
        if hasDestroy, destroyMode == .emulated {
            return try applyEmulatingDestroy(transaction, generation: generation)
        }
        do {
            try send(transaction.operations, generation: generation)
        } catch {
            if hasDestroy, error.netlink.errno.code == KernelErrno.invalid || error.netlink.errno.code == KernelErrno.notSupported,
               error.operation?.verb == .destroy {
                destroyMode = .emulated
                return try applyEmulatingDestroy(transaction, generation: generation)
            }
            throw explain(error, in: transaction, generation: generation)
        }
    }

    /// Reads the ruleset and its generation, builds a transaction from them and applies it
    /// guarded by that generation; retries up to `attempts` times if someone else changed the
    /// ruleset in between.
    public func applyGuarded(attempts: Int = 3, _ build: (Ruleset) throws(BerthError) -> Transaction) throws(BerthError) {
        var attempt = 0
        while true {
            attempt += 1
            let generation = try self.generation()
            let transaction = try build(try list())
            do {
                return try apply(transaction, generation: generation)
            } catch where error.code == .conflict && attempt < attempts {
                continue
            }
        }
    }

    /// The ruleset's generation id (NFT_MSG_GETGEN); it changes with every committed batch.
    public func generation() throws(BerthError) -> UInt32 {
        var request = NetlinkRequest()
        let sequence = transport.nextSequence()
        request.append(rawMessage: NFTNL.message(type: NFTNL.MessageType.getGen, family: 0, flags: NetlinkFlags.ack, sequence: sequence) { _ in },
                       sequence: sequence, operation: "read the nftables generation", expectsAck: true)
        let replies: [NetlinkMessage]
        do { replies = try transport.transact(request) } catch { throw error.berthError }
        let newGen = (NFTNL.subsystem << 8) | NFTNL.MessageType.newGen
        guard let reply = replies.first(where: { $0.type == newGen }), let id = reply.attributes(after: 4)[1]?.u32 else {
            throw BerthError(.kernel, "read the nftables generation: no NFTA_GEN_ID in the kernel's answer")
        }
        return UInt32(bigEndian: id)
    }

    /// A refused batch: the netlink error and the operation it points at.
    struct BatchFailure: Error {
        let netlink: NetlinkError
        let operation: Transaction.Operation?
    }

    private func send(_ operations: [Transaction.Operation], generation: UInt32?) throws(BatchFailure) {
        var request = NetlinkRequest()
        var bySequence: [UInt32: Transaction.Operation] = [:]
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
                          case .element(let e, let s) = operations[end].object, s == set,
                          bytes + NFTNL.elementSize(e) < Self.elementBytesPerMessage {
                        group.append(e)
                        bytes += NFTNL.elementSize(e)
                        end += 1
                    }
                    let (type, flags) = Self.messageType(operation)
                    let text = group.count == 1 ? operation.description
                        : "\(operation.verb) \(group.count) elements \(operation.verb == .add || operation.verb == .create ? "to" : "from") \(set.label) { \(group[0].rendered), … }"
                    request.append(rawMessage: NFTNL.elementsMessage(set, group, type: type, flags: flags | NetlinkFlags.ack, sequence: sequence),
                                   sequence: sequence, operation: text, expectsAck: true)
                    bySequence[sequence] = operation
                    index = end
                    continue
                }
                request.append(rawMessage: try Self.message(operation, sequence: sequence), sequence: sequence,
                               operation: operation.description, expectsAck: true)
                bySequence[sequence] = operation
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
            throw BatchFailure(netlink: error, operation: bySequence[error.sequence])
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
        case .table(let t): return NFTNL.tableMessage(t, type: type, flags: f, sequence: sequence)
        case .chain(let c): return NFTNL.chainMessage(c, type: type, flags: f, sequence: sequence)
        case .rule(let r): return try NFTNL.ruleMessage(r, type: type, flags: f, sequence: sequence)
        case .set(let s):
            if operation.verb == .flush { return NFTNL.elementsMessage(s, [], type: type, flags: f, sequence: sequence) }
            return NFTNL.setMessage(s, type: type, flags: f, sequence: sequence)
        case .element(let e, let s): return NFTNL.elementsMessage(s, [e], type: type, flags: f, sequence: sequence)
        }
    }

    // MARK: - Errors

    /// Turns a refusal into a BerthError; a refusal the fake (same semantics, all features)
    /// would not have given means the kernel lacks a feature: `.unsupported`, naming it.
    private func explain(_ failure: BatchFailure, in transaction: Transaction, generation: UInt32?) -> BerthError {
        let error = failure.netlink
        if error.errno.code == KernelErrno.restart, generation != nil {
            return BerthError(.conflict, "the nftables ruleset changed since generation \(generation ?? 0) was read", hint: "read it again and retry", cause: error)
        }
        guard let operation = failure.operation,
              error.errno.code == KernelErrno.notSupported || error.errno.code == KernelErrno.noEntry,
              let features = Self.features(operation) else { return error.berthError }
        if error.errno.code == KernelErrno.noEntry {
            guard let current = try? list() else { return error.berthError }
            let fake = FakeBackend(state: current)
            for earlier in transaction.operations {
                if earlier == operation { break }
                _ = fake.step(earlier)
            }
            if fake.step(operation) != nil { return error.berthError }
        }
        return BerthError(.unsupported, "\(operation): the kernel lacks \(features)",
                          hint: "load the module (modprobe) or use a kernel built with it", cause: error)
    }

    /// The kernel features (modules) an operation needs beyond nf_tables itself.
    static func features(_ operation: Transaction.Operation) -> String? {
        switch operation.object {
        case .chain(let c) where c.base?.type == .nat: return "the nat chain type (nft_chain_nat)"
        case .chain(let c) where c.base?.type == .route: return "the route chain type (nft_chain_route)"
        case .rule(let r):
            var names: [String] = []
            for statement in r.statements {
                let name: String? = switch statement {
                case .fibDaddrTypeLocal: "fib (nft_fib)"
                case .ctState, .ctStatusDnat: "conntrack matching (nft_ct)"
                case .dnat, .dnatMap: "nat (nft_nat)"
                case .masquerade: "masquerade (nft_masq)"
                case .counter: "counters (nft_counter)"
                default: nil
                }
                if let name, !names.contains(name) { names.append(name) }
            }
            return names.isEmpty ? nil : "an nftables feature this rule needs: " + names.joined(separator: ", ")
        default: return nil
        }
    }

    // MARK: - Destroy emulation

    private func applyEmulatingDestroy(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        var attempt = 0
        while true {
            attempt += 1
            let current = try self.generation()
            if let generation, generation != current {
                throw BerthError(.conflict, "the nftables ruleset changed since generation \(generation) was read", hint: "read it again and retry")
            }
            let fake = FakeBackend(state: try list())
            var rewritten: [Transaction.Operation] = []
            for operation in transaction.operations {
                var effective = operation
                if operation.verb == .destroy {
                    let probe = Transaction.Operation(verb: .delete, object: operation.object)
                    guard fake.step(probe) == nil else { continue }
                    effective = probe
                } else {
                    _ = fake.step(operation)
                }
                rewritten.append(effective)
            }
            guard !rewritten.isEmpty else { return }
            do {
                return try send(rewritten, generation: current)
            } catch {
                if error.netlink.errno.code == KernelErrno.restart, generation == nil, attempt < 3 { continue }
                throw explain(error, in: transaction, generation: generation ?? current)
            }
        }
    }

    // MARK: - Read back

    public func list() throws(BerthError) -> Ruleset {
        typealias M = NFTNL.MessageType
        let tables = try dump(M.getTable, "list nftables tables").compactMap(NFTNL.parseTable)
        let chains = try dump(M.getChain, "list nftables chains").compactMap(NFTNL.parseChain)
        let rules = try dump(M.getRule, "list nftables rules").compactMap(NFTNL.parseRule)
        let sets = try dump(M.getSet, "list nftables sets").compactMap(NFTNL.parseSet)
        var ruleset = Ruleset()
        for table in tables {
            var contents = Ruleset.TableContents(table: table)
            for set in sets where set.family == table.family && set.table == table.name {
                var elements: [Element] = []
                let sequence = transport.nextSequence()
                var request = NetlinkRequest()
                request.append(rawMessage: NFTNL.elementsMessage(set, [], type: M.getSetElem, flags: NetlinkFlags.dump, sequence: sequence),
                               sequence: sequence, operation: "list elements of \(set.label)", expectsAck: false)
                do {
                    for message in try transport.dump(request) { elements += NFTNL.parseElements(message, of: set) }
                } catch {
                    throw error.berthError
                }
                contents.sets.append(Ruleset.SetContents(set: set, elements: elements))
            }
            for chain in chains where chain.family == table.family && chain.table == table.name {
                contents.chains.append(Ruleset.ChainContents(chain: chain, rules: rules.filter {
                    $0.family == table.family && $0.table == table.name && $0.chain == chain.name
                }))
            }
            ruleset.tables.append(contents)
        }
        return ruleset
    }

    private func dump(_ type: UInt16, _ operation: String) throws(BerthError) -> [NetlinkMessage] {
        let sequence = transport.nextSequence()
        var request = NetlinkRequest()
        request.append(rawMessage: NFTNL.message(type: type, family: 0, flags: NetlinkFlags.dump, sequence: sequence) { _ in },
                       sequence: sequence, operation: operation, expectsAck: false)
        do {
            return try transport.dump(request)
        } catch {
            throw error.berthError
        }
    }
}
