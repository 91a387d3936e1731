public import BerthCore

/// An ordered list of changes applied all-or-nothing: by the kernel as one nf_tables batch,
/// by `FakeBackend` against a copy that replaces the state only when every operation succeeds.
///
/// Objects are validated when queued; the first validation error is kept and thrown by `apply`,
/// so building a transaction reads as a plain list of calls.
public struct Transaction: Sendable {
    /// What an operation does to its object.
    public enum Verb: String, Sendable, Hashable, CustomStringConvertible {
        /// Create, or do nothing if it exists (elements: unless its data differs). Rules: a new
        /// rule at the end of the chain, or after `position`.
        case add
        /// Create; fail with `alreadyExists` if it exists.
        case create
        /// Rules only: add at the start of the chain, or before `position`.
        case insert
        /// Rules only: replace the rule with `handle`.
        case replace
        /// Remove; fail with `notFound` if missing.
        case delete
        /// Chains: remove every rule. Sets and maps: remove every element.
        case flush
        /// Remove if present.
        case destroy

        /// The verb as nft spells it. (Interpolating a type without this conformance goes
        /// through reflection, whose first use costs a CLI process about 1.4 million
        /// instructions: each batch message names its operation.)
        public var description: String { rawValue }
    }

    /// The object an operation acts on.
    public enum Object: Sendable, Hashable {
        /// A table (add, create, delete, destroy).
        case table(Table)
        /// A chain (add, create, delete, destroy; `flush(_:)` empties one).
        case chain(Chain)
        /// A rule (add, insert, replace, delete, destroy; all but add and insert need its handle).
        case rule(Rule)
        /// A set or map (add, create, delete, destroy, flush).
        case set(NFTSet)
        /// An element of a set or map (add, create, delete, destroy).
        case element(Element, in: NFTSet)
    }

    /// One queued change.
    public struct Operation: Sendable, Hashable, CustomStringConvertible {
        /// What the operation does.
        public let verb: Verb
        /// What it does it to.
        public let object: Object

        /// The operation in words, as errors name it: "add element to map ip berth publish { … }".
        public var description: String {
            switch object {
            case .table(let t): "\(verb) table \(t.family) \(t.name)"
            case .chain(let c): "\(verb) chain \(c.family) \(c.table) \(c.name)"
            case .rule(let r):
                switch verb {
                case .delete, .destroy:
                    "\(verb) rule \(r.family) \(r.table) \(r.chain) handle \(r.handle.map(String.init) ?? "?")"
                case .replace:
                    "replace rule \(r.family) \(r.table) \(r.chain) handle \(r.handle.map(String.init) ?? "?") \(r.rendered)"
                case .flush: "flush chain \(r.family) \(r.table) \(r.chain)"
                default: "\(verb) rule \(r.family) \(r.table) \(r.chain) \(r.rendered)"
                }
            case .set(let s): "\(verb) \(s.label)"
            case .element(let e, let s): "\(verb) element \(verb == .add || verb == .create ? "to" : "from") \(s.label) { \(e.rendered) }"
            }
        }
    }

    /// The operations queued, in the order the kernel applies them.
    public private(set) var operations: [Operation] = []
    /// The first invalid object queued, thrown by `apply`.
    public private(set) var validationError: BerthError?
    /// The set and the comment of the last element validated: a run of elements of one set
    /// with one comment (an endpoint's published range) checks them once, not per element.
    private var validatedSet: NFTSet?
    private var validatedComment: String?

    /// An empty transaction.
    public init() {}

    /// Whether nothing is queued (`KernelBackend` sends nothing for an empty transaction).
    public var isEmpty: Bool { operations.isEmpty }

    /// Makes room for `count` operations in all, so that queuing a thousand map elements does
    /// not grow (and copy) the list ten times.
    public mutating func reserveCapacity(_ count: Int) { operations.reserveCapacity(count) }

    /// Queues creating `object`, or nothing if it exists (an element: unless with other data,
    /// a set: unless of other types or flags, both `alreadyExists`). A rule is always added: at
    /// the end of its chain, or after `position`.
    public mutating func add(_ object: Object) { queue(.add, object) }
    /// Queues creating `object`: `alreadyExists` if it exists. Not for rules (refused).
    public mutating func create(_ object: Object) { queue(.create, object) }
    /// Queues a rule at the start of its chain, or before the rule with handle `position`.
    public mutating func insert(_ rule: Rule) { queue(.insert, .rule(rule)) }
    /// Queues replacing the rule with `rule.handle` (required) by `rule`: `notFound` if there is none.
    public mutating func replace(_ rule: Rule) { queue(.replace, .rule(rule)) }
    /// Queues removing `object`: `notFound` if it is missing; a rule needs its handle, and a
    /// chain jumped to or a map a rule uses is refused (EBUSY).
    public mutating func delete(_ object: Object) { queue(.delete, object) }
    /// Queues removing `object` if present (a rule needs its handle). Only the object's own
    /// absence is forgiven: a missing table, or an element's missing set, is `notFound`.
    public mutating func destroy(_ object: Object) { queue(.destroy, object) }

    /// Flushes a chain's rules.
    public mutating func flush(_ chain: Chain) {
        queue(.flush, .rule(Rule(family: chain.family, table: chain.table, chain: chain.name, [])))
    }

    /// Flushes a set's or map's elements.
    public mutating func flush(_ set: NFTSet) { queue(.flush, .set(set)) }

    /// Adds several elements (one operation each, batched into few kernel messages).
    public mutating func add(_ elements: [Element], to set: NFTSet) {
        for element in elements { queue(.add, .element(element, in: set)) }
    }

    /// Queues deleting several elements (one operation each, batched into few kernel
    /// messages): `notFound` at apply if any is missing.
    public mutating func delete(_ elements: [Element], from set: NFTSet) {
        for element in elements { queue(.delete, .element(element, in: set)) }
    }

    /// Appends another transaction's operations (and its validation error, if this one has
    /// none), so that plans made apart reach the kernel as one atomic batch.
    public mutating func append(contentsOf other: Transaction) {
        operations += other.operations
        if validationError == nil { validationError = other.validationError }
    }

    private mutating func queue(_ verb: Verb, _ object: Object) {
        let operation = Operation(verb: verb, object: object)
        operations.append(operation)
        guard validationError == nil else { return }
        do {
            if case .element(let element, let set) = object {
                // Unwrapped before comparing: `==` on two optionals is generic, and its first
                // use costs a one-element transaction a metadata lookup.
                var setChecked = false, commentChecked = false
                if let validated = validatedSet { setChecked = validated == set }
                if setChecked, let comment = element.comment, let validated = validatedComment { commentChecked = comment == validated }
                try Self.validate(element, in: set, verb: verb, setChecked: setChecked, commentChecked: commentChecked)
                if !setChecked { validatedSet = set }
                if !commentChecked { validatedComment = element.comment }
            } else {
                try Self.validate(operation)
            }
        } catch {
            validationError = error
        }
    }

    private static func validate(_ element: Element, in set: NFTSet, verb: Verb, setChecked: Bool, commentChecked: Bool) throws(BerthError) {
        if !setChecked { try set.validate() }
        try set.validate(element, commentChecked: commentChecked)
        switch verb {
        case .add, .create, .delete, .destroy: break
        default: throw .invalid("cannot \(verb) an element")
        }
    }

    private static func validate(_ operation: Operation) throws(BerthError) {
        let verb = operation.verb
        switch operation.object {
        case .table(let t):
            try t.validate()
            guard [.add, .create, .delete, .destroy].contains(verb) else { throw .invalid("cannot \(verb) a table") }
        case .chain(let c):
            try c.validate()
            guard [.add, .create, .delete, .destroy].contains(verb) else { throw .invalid("cannot \(verb) a chain", hint: "use flush(_ chain:) to remove its rules") }
        case .rule(let r):
            if verb == .flush {
                try Names.validate(r.table, what: "table")
                try Names.validate(r.chain, what: "chain")
                return
            }
            if [.delete, .destroy, .replace].contains(verb), r.handle == nil {
                throw .invalid("\(verb) rule in chain \(r.family) \(r.table) \(r.chain) needs the rule's handle", hint: "read the rule back to learn its handle")
            }
            if verb == .create { throw .invalid("rules cannot be created exclusively; use add or insert") }
            // The kernel takes a handle on NEWRULE without NLM_F_REPLACE as "this rule
            // exists" (EOPNOTSUPP, or ENOENT once deleted): a rule read back is added again
            // only as a copy, on purpose.
            if verb == .add || verb == .insert, r.handle != nil {
                throw .invalid("\(verb) rule in chain \(r.family) \(r.table) \(r.chain) carries the handle \(r.handle ?? 0) of a rule read back",
                               hint: "set its handle to nil to add a copy, use replace to change that rule, or position to place it next to it")
            }
            if verb != .delete, verb != .destroy { try r.validate() }
        case .set(let s):
            try s.validate()
            guard [.add, .create, .delete, .destroy, .flush].contains(verb) else { throw .invalid("cannot \(verb) a set") }
        case .element(let e, let s):
            try validate(e, in: s, verb: verb, setChecked: false, commentChecked: false)
        }
    }
}
