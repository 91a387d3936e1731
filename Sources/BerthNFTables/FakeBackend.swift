public import BerthCore
import BerthNamespace
import BerthNetlink

/// An in-memory nftables with the kernel's semantics for Berth's vocabulary: existence checks
/// (EEXIST, ENOENT), add vs create, references (EBUSY), flush, destroy, atomic transactions.
/// Its errors have the same codes and operation names as `KernelBackend`'s.
public final class FakeBackend: NFTablesBackend, @unchecked Sendable {
    private var state = Ruleset()
    private var nextHandle: UInt64 = 1
    /// How many transactions were applied successfully.
    public private(set) var appliedCount = 0

    public init() {}

    /// A fake that starts from `state` (a kernel listing), to replay operations against it.
    init(state: Ruleset) {
        self.state = state
        let handles = state.tables.flatMap { $0.chains.flatMap { $0.rules.compactMap(\.handle) } }
        nextHandle = (handles.max() ?? 0) + 1
    }

    /// Applies one operation to the state; returns the errno the kernel would answer.
    func step(_ operation: Transaction.Operation) -> Int32? {
        var handle = nextHandle
        let code = Self.perform(operation, on: &state, handle: &handle)
        nextHandle = handle
        return code
    }

    public func list() throws(BerthError) -> Ruleset { state }

    public func apply(_ transaction: Transaction) throws(BerthError) {
        if let error = transaction.validationError { throw error }
        var working = state
        var handle = nextHandle
        for operation in transaction.operations {
            if let code = Self.perform(operation, on: &working, handle: &handle) {
                throw NetlinkError(errno: Errno(code), operation: operation.description).berthError
            }
        }
        state = working
        nextHandle = handle
        appliedCount += 1
    }

    // MARK: - Semantics

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

        case .chain(let chain):
            guard let t = tableIndex(chain.family, chain.table) else { return verb == .destroy ? nil : KernelErrno.noEntry }
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
            guard let t = tableIndex(rule.family, rule.table),
                  let c = state.tables[t].chains.firstIndex(where: { $0.chain.name == rule.chain }) else {
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
            guard let t = tableIndex(set.family, set.table) else { return verb == .destroy ? nil : KernelErrno.noEntry }
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
                return verb == .destroy ? nil : KernelErrno.noEntry
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
            chain.rules.contains { $0.statements.contains { if case .dnatMap(_, _, set) = $0 { true } else { false } } }
        }
    }
}
