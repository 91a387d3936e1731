import BerthCore
import BerthNFTables

/// A namespace's nftables in the fake kernel: a `FakeBackend` (the kernel's semantics, its
/// dump is the golden), counting reads so tests can hold callers to one read per operation,
/// and refusing a transaction on demand.
public final class FakeNFTables: NFTablesBackend, @unchecked Sendable {
    /// The in-memory ruleset.
    public let backend = FakeBackend()
    /// How many times the whole ruleset was listed.
    public private(set) var rulesetReads = 0
    /// How many times one table was listed.
    public private(set) var tableReads = 0
    /// How many times the chains (alone) were listed.
    public private(set) var chainReads = 0
    /// How many times chosen elements were read by key (`elements(withKeysOf:)`).
    public private(set) var elementReads = 0
    /// How many times the generation was read on its own.
    public private(set) var generationReads = 0
    /// Transactions applied successfully, in order.
    public private(set) var applied: [Transaction] = []
    /// When set, the next `apply` (after `applyErrorDelay` others) fails with it and changes nothing.
    public var nextApplyError: BerthError?
    /// How many calls of `apply` run as usual before `nextApplyError` refuses one: 1 lets an
    /// operation's batch through and refuses its undo's, as a process killed between the two
    /// never sends it.
    public var applyErrorDelay = 0
    /// With `nextApplyError`: the transaction is applied, then the error thrown — a batch
    /// whose answers were lost (the kernel did it; the caller cannot know).
    public var nextApplyErrorAfterApplying = false

    /// When set, runs once right before the next `apply` (after `beforeApplyDelay` others),
    /// and is cleared first: what another process does between an operation's read and
    /// its batch.
    public var beforeNextApply: (() -> Void)?
    /// How many calls of `apply` run before `beforeNextApply` does.
    public var beforeApplyDelay = 0

    public init() {}

    public func apply(_ transaction: Transaction) throws(BerthError) {
        try apply(transaction, generation: nil)
    }

    /// `beforeNextApply` runs before the generation is compared: another process's batch
    /// between an operation's read and its own refuses the guarded one (`.conflict`).
    public func apply(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        if let race = beforeNextApply {
            if beforeApplyDelay > 0 {
                beforeApplyDelay -= 1
            } else {
                beforeNextApply = nil
                race()
            }
        }
        if let error = nextApplyError {
            if applyErrorDelay > 0 {
                applyErrorDelay -= 1
            } else {
                nextApplyError = nil
                if nextApplyErrorAfterApplying {
                    nextApplyErrorAfterApplying = false
                    try backend.apply(transaction, generation: generation)
                    applied.append(transaction)
                }
                throw error
            }
        }
        try backend.apply(transaction, generation: generation)
        applied.append(transaction)
    }

    public func generation() throws(BerthError) -> UInt32 {
        generationReads += 1
        return try backend.generation()
    }

    /// Counted apart from table reads: one read of the keys asked, not of a table.
    public func elements(withKeysOf wanted: [(Element, NFTSet)]) throws(BerthError) -> (generation: UInt32, found: [(Element, NFTSet)]) {
        elementReads += 1
        return try backend.elements(withKeysOf: wanted)
    }

    public func list() throws(BerthError) -> Ruleset {
        rulesetReads += 1
        return try backend.list()
    }

    public func list(table: Table) throws(BerthError) -> Ruleset.TableContents? {
        tableReads += 1
        return try backend.list().table(table.family, table.name)
    }

    public func listChains() throws(BerthError) -> [Chain] {
        chainReads += 1
        return try backend.list().tables.flatMap { $0.chains.map(\.chain) }
    }

    /// The whole ruleset as `nft list ruleset` prints it (not counted as a read).
    public var ruleset: String { (try? backend.dump()) ?? "" }

    /// Forgets the read counts.
    public func resetCounts() {
        rulesetReads = 0
        tableReads = 0
        chainReads = 0
        elementReads = 0
        generationReads = 0
    }
}
