public import BerthCore
import BerthNamespace
import BerthNetlink
import Synchronization

/// An in-memory nftables with the kernel's semantics for Berth's vocabulary: existence checks
/// (EEXIST, ENOENT), add vs create, references (EBUSY), flush, destroy, atomic transactions.
/// Its errors have the same codes and operation names as `KernelBackend`'s.
///
/// Safe for concurrent use: its contents are behind a lock (`Mutex`), and a transaction is
/// applied whole under it, so concurrent callers see each other's transactions one at a
/// time, as they would the kernel's.
public final class FakeBackend: NFTablesBackend, Sendable {
    /// What the lock guards.
    private struct Contents {
        var state = Ruleset()
        /// The next handle of each table, by `key(_:_:)`: the kernel numbers a table's chains,
        /// sets and rules from 1 (its `hgenerator`), so a table deleted and made again hands
        /// out the handles of the old one's rules again.
        var handles: [String: UInt64] = [:]
        var appliedCount = 0
        /// The generation: bumped by every transaction applied, as the kernel's is by every
        /// committed batch.
        var currentGeneration: UInt32 = 1
    }

    private let contents: Mutex<Contents>

    /// How many transactions were applied successfully.
    public var appliedCount: Int { contents.withLock { $0.appliedCount } }

    /// An empty ruleset at generation 1.
    public init() {
        contents = Mutex(Contents())
    }

    /// A fake that starts from `state` (a kernel listing), to replay operations against it.
    init(state: Ruleset) {
        var start = Contents(state: state)
        for table in state.tables {
            let used = table.chains.flatMap { $0.rules.compactMap(\.handle) }
            start.handles[Self.key(table.table.family, table.table.name)] = (used.max() ?? 0) + 1
        }
        contents = Mutex(start)
    }

    /// Applies one operation to the state; returns the errno the kernel would answer.
    func step(_ operation: Transaction.Operation) -> Int32? {
        contents.withLock { contents in Self.perform(operation, on: &contents.state, handles: &contents.handles) }
    }

    /// The whole in-memory ruleset; never throws.
    public func list() throws(BerthError) -> Ruleset { contents.withLock { $0.state } }

    /// 1, plus one per transaction applied; never throws.
    public func generation() throws(BerthError) -> UInt32 { contents.withLock { $0.currentGeneration } }

    /// Applies every operation to a copy and keeps it only if all succeed; an error carries
    /// the errno and operation wording `KernelBackend` would give.
    public func apply(_ transaction: Transaction) throws(BerthError) {
        try apply(transaction, generation: nil)
    }

    /// Refused with `.conflict` (the kernel's ERESTART, as `KernelBackend` words it) when a
    /// transaction was applied since `generation` was read.
    public func apply(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        if let error = transaction.validationError { throw error }
        try contents.withLock { (contents: inout Contents) throws(BerthError) in
            if let generation, generation != contents.currentGeneration {
                throw BerthError(.conflict, "the nftables ruleset changed since generation \(generation) was read", hint: "read it again and retry",
                                 cause: NetlinkError(errno: Errno(KernelErrno.restart), operation: "begin nftables batch at generation \(generation)"))
            }
            var working = contents.state
            var next = contents.handles
            for operation in transaction.operations {
                // Worded as `KernelBackend.explain` words the kernel's refusal of it.
                let reason = Self.refusal(operation, in: working)
                if let code = Self.perform(operation, on: &working, handles: &next) {
                    let error = NetlinkError(errno: Errno(code), operation: operation.description)
                    if let reason { throw Self.refusedError(operation, reason, cause: error) }
                    throw error.berthError
                }
            }
            contents.state = working
            contents.handles = next
            contents.appliedCount += 1
            contents.currentGeneration &+= 1
        }
    }

    // MARK: - Semantics

    private static func key(_ family: Family, _ table: String) -> String { "\(family) \(table)" }

    /// Applies one operation with the handles of its table; returns the errno the kernel
    /// would answer, or nil.
    private static func perform(_ operation: Transaction.Operation, on state: inout Ruleset, handles: inout [String: UInt64]) -> Int32? {
        let table: String
        switch operation.object {
        case .table(let t): table = key(t.family, t.name)
        case .chain(let c): table = key(c.family, c.table)
        case .rule(let r): table = key(r.family, r.table)
        case .set(let s), .element(_, let s): table = key(s.family, s.table)
        }
        var handle = handles[table] ?? 1
        let code = refusal(operation, in: state) != nil ? KernelErrno.notSupported : perform(operation, on: &state, handle: &handle)
        if code == nil {
            if case .table(let t) = operation.object, state.table(t.family, t.name) == nil {
                handles[table] = nil
            } else {
                handles[table] = handle
            }
        }
        return code
    }

    /// Applies one operation; returns the errno the kernel would answer, or nil.
    private static func perform(_ operation: Transaction.Operation, on state: inout Ruleset, handle: inout UInt64) -> Int32? {
        let verb = operation.verb
        func tableIndex(_ family: Family, _ name: String) -> Int? {
            state.tables.firstIndex { $0.table.family == family && $0.table.name == name }
        }
        switch operation.object {
        case .table(let table):
            let index = tableIndex(table.family, table.name)
            switch verb {
            case .add, .create:
                if index != nil { return verb == .create ? KernelErrno.exists : nil }
                state.tables.append(Ruleset.TableContents(table: table))
            case .delete, .destroy:
                guard let index else { return verb == .delete ? KernelErrno.noEntry : nil }
                state.tables.remove(at: index)
            default: return KernelErrno.invalid
            }

        // `destroy` forgives only the missing object itself (nf_tables_delchain, _delset,
        // _delrule, _delsetelem: the table, and an element's set, are looked up first and
        // their absence is ENOENT whatever the verb); a rule's missing chain is forgiven too.
        case .chain(let chain):
            guard let t = tableIndex(chain.family, chain.table) else { return KernelErrno.noEntry }
            let index = state.tables[t].chains.firstIndex { $0.chain.name == chain.name }
            switch verb {
            case .add, .create:
                if index != nil { return verb == .create ? KernelErrno.exists : nil }
                state.tables[t].chains.append(Ruleset.ChainContents(chain: chain))
                handle += 1
            case .delete, .destroy:
                guard let index else { return verb == .delete ? KernelErrno.noEntry : nil }
                let referenced = state.tables[t].chains.contains { other in
                    other.chain.name != chain.name && other.rules.contains { $0.statements.contains(.jump(chain.name)) || $0.statements.contains(.goto(chain.name)) }
                }
                if referenced { return KernelErrno.busy }
                state.tables[t].chains.remove(at: index)
            default: return KernelErrno.invalid
            }

        case .rule(var rule):
            guard let t = tableIndex(rule.family, rule.table) else { return KernelErrno.noEntry }
            guard let c = state.tables[t].chains.firstIndex(where: { $0.chain.name == rule.chain }) else {
                return verb == .destroy ? nil : KernelErrno.noEntry
            }
            var rules = state.tables[t].chains[c].rules
            switch verb {
            case .flush:
                rules.removeAll()
            case .add, .insert, .replace:
                // Every chain and map the rule names must exist.
                for statement in rule.statements {
                    switch statement {
                    case .jump(let target), .goto(let target):
                        if !state.tables[t].chains.contains(where: { $0.chain.name == target }) { return KernelErrno.noEntry }
                    case .dnatMap(_, _, let map):
                        if !state.tables[t].sets.contains(where: { $0.set.name == map && $0.set.isMap }) { return KernelErrno.noEntry }
                    case .lookup(_, let name):
                        if !state.tables[t].sets.contains(where: { $0.set.name == name }) { return KernelErrno.noEntry }
                    default: break
                    }
                }
                let stored = { (h: UInt64) -> Rule in
                    var r = rule
                    r.handle = h
                    r.position = nil
                    r.statements = r.statements.map { if case .counter = $0 { .counter() } else { $0 } }
                    return r
                }
                if verb == .replace {
                    guard let i = rules.firstIndex(where: { $0.handle == rule.handle }), let h = rule.handle else { return KernelErrno.noEntry }
                    rules[i] = stored(h)
                    break
                }
                var at = verb == .add ? rules.count : 0
                if let position = rule.position {
                    guard let i = rules.firstIndex(where: { $0.handle == position }) else { return KernelErrno.noEntry }
                    at = verb == .add ? i + 1 : i
                }
                rule.handle = handle
                rules.insert(stored(handle), at: at)
                handle += 1
            case .delete, .destroy:
                guard let i = rules.firstIndex(where: { $0.handle == rule.handle }) else { return verb == .delete ? KernelErrno.noEntry : nil }
                rules.remove(at: i)
            default: return KernelErrno.invalid
            }
            state.tables[t].chains[c].rules = rules

        case .set(let set):
            guard let t = tableIndex(set.family, set.table) else { return KernelErrno.noEntry }
            let index = state.tables[t].sets.firstIndex { $0.set.name == set.name }
            switch verb {
            case .add, .create:
                if let index {
                    if verb == .create { return KernelErrno.exists }
                    let existing = state.tables[t].sets[index].set
                    if existing.keyType != set.keyType || existing.dataType != set.dataType || existing.flags != set.flags { return KernelErrno.exists }
                    return nil
                }
                state.tables[t].sets.append(Ruleset.SetContents(set: set))
                handle += 1
            case .delete, .destroy:
                guard let index else { return verb == .delete ? KernelErrno.noEntry : nil }
                if isReferenced(set.name, in: state.tables[t]) { return KernelErrno.busy }
                state.tables[t].sets.remove(at: index)
            case .flush:
                guard let index else { return KernelErrno.noEntry }
                state.tables[t].sets[index].elements.removeAll()
            default: return KernelErrno.invalid
            }

        case .element(let element, let set):
            guard let t = tableIndex(set.family, set.table),
                  let s = state.tables[t].sets.firstIndex(where: { $0.set.name == set.name }) else {
                return KernelErrno.noEntry
            }
            let stored = state.tables[t].sets[s]
            let index = stored.elements.firstIndex { $0.key == element.key }
            switch verb {
            case .add, .create:
                if stored.set.flags.contains(.constant), isReferenced(set.name, in: state.tables[t]) { return KernelErrno.busy }
                if let index {
                    if verb == .create || stored.elements[index].value != element.value { return KernelErrno.exists }
                    return nil
                }
                state.tables[t].sets[s].elements.append(element)
            case .delete, .destroy:
                guard let index else { return verb == .delete ? KernelErrno.noEntry : nil }
                state.tables[t].sets[s].elements.remove(at: index)
            default: return KernelErrno.invalid
            }
        }
        return nil
    }

    private static func isReferenced(_ set: String, in table: Ruleset.TableContents) -> Bool {
        table.chains.contains { chain in
            chain.rules.contains {
                $0.statements.contains {
                    switch $0 {
                    case .dnatMap(_, _, set), .lookup(_, set): true
                    default: false
                    }
                }
            }
        }
    }
}
