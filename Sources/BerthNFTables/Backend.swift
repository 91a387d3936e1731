public import BerthCore

/// Where transactions go: the kernel (`KernelBackend`) or memory (`FakeBackend`). Both have the
/// same semantics and list the same `Ruleset`, so higher layers test against golden nft text.
/// A backend is shared by a `HostHandle`'s callers on any thread: safe for concurrent use.
public protocol NFTablesBackend: AnyObject, Sendable {
    /// Applies every operation or none. Throws the first invalid object, or the first operation
    /// refused, named in the error's message (codes: alreadyExists, notFound, conflict, unsupported…).
    func apply(_ transaction: Transaction) throws(BerthError)

    /// Applies `transaction` only if the ruleset is still at `generation` (the kernel's
    /// NFTA_GEN_ID on the batch: ERESTART), else throws `.conflict` and changes nothing; nil
    /// applies it unguarded. A plan made from a read is applied this way, so what another
    /// process committed between the read and the batch is never undone by it.
    func apply(_ transaction: Transaction, generation: UInt32?) throws(BerthError)

    /// The ruleset's generation (NFT_MSG_GETGEN): it changes with every committed batch, of
    /// any table.
    func generation() throws(BerthError) -> UInt32

    /// The elements present whose keys are those of `wanted` (each in its set; a set or
    /// table that does not exist holds none), with their data and comments as stored, and
    /// the generation read before them: what a guarded delete of exactly the elements read
    /// needs. Reads only those keys, however large the maps (GETSETELEM naming each key,
    /// as `nft get element` asks), not whole maps.
    func elements(withKeysOf wanted: [(Element, NFTSet)]) throws(BerthError) -> (generation: UInt32, found: [(Element, NFTSet)])

    /// Every table with its sets, elements, chains and rules.
    func list() throws(BerthError) -> Ruleset

    /// One table (matched by family and name) with its sets, elements, chains and rules, or
    /// nil if it does not exist. Reads only that table: a host's other tables (kube-proxy's
    /// or firewalld's sets) are not listed.
    func list(table: Table) throws(BerthError) -> Ruleset.TableContents?

    /// Every chain of every table (base chains with their hook, priority and policy),
    /// without rules, sets or elements.
    func listChains() throws(BerthError) -> [Chain]
}

extension NFTablesBackend {
    /// Reads the generation and the tables a backend holds, then picks the wanted keys;
    /// `KernelBackend` asks the kernel for those keys alone.
    public func elements(withKeysOf wanted: [(Element, NFTSet)]) throws(BerthError) -> (generation: UInt32, found: [(Element, NFTSet)]) {
        let generation = try generation()
        var tables: [Ruleset.TableContents] = []
        var found: [(Element, NFTSet)] = []
        for (element, set) in wanted {
            let table: Ruleset.TableContents?
            if let read = tables.first(where: { $0.table.family == set.family && $0.table.name == set.table }) {
                table = read
            } else {
                table = try list(table: Table(set.family, set.table))
                if let table { tables.append(table) }
            }
            guard let stored = table?.sets.first(where: { $0.set.name == set.name }),
                  let held = stored.elements.first(where: { $0.key == element.key }) else { continue }
            found.append((held, set))
        }
        return (generation, found)
    }

    /// Plans and applies guarded by the generation the plan was read at, again (up to
    /// `attempts` times) when another process committed a batch in between: `plan` reads
    /// what it needs and returns the generation it read first and the transaction (empty:
    /// nothing to do). The one retry loop of a read-then-act change.
    public func applyGuarded(attempts: Int = 3, planning plan: () throws(BerthError) -> (generation: UInt32, transaction: Transaction)) throws(BerthError) {
        var attempt = 0
        while true {
            attempt += 1
            let (generation, transaction) = try plan()
            if transaction.isEmpty { return }
            do {
                return try apply(transaction, generation: generation)
            } catch where error.code == .conflict && attempt < attempts {
                continue
            }
        }
    }

    /// `applyGuarded(planning:)` with the generation read first and then `read` for the
    /// plan: `build` turns what was read into the transaction.
    public func applyGuarded<Read>(attempts: Int = 3, reading read: () throws(BerthError) -> Read,
                                   _ build: (Read) throws(BerthError) -> Transaction) throws(BerthError) {
        try applyGuarded(attempts: attempts) { () throws(BerthError) in
            let generation = try generation()
            return (generation, try build(try read()))
        }
    }

    /// Reads the ruleset and its generation, builds a transaction from them and applies it
    /// guarded by that generation; retries up to `attempts` times if someone else changed the
    /// ruleset in between.
    public func applyGuarded(attempts: Int = 3, _ build: (Ruleset) throws(BerthError) -> Transaction) throws(BerthError) {
        try applyGuarded(attempts: attempts, reading: { () throws(BerthError) in try list() }, build)
    }

    /// Filters `list()`; a backend that can ask for one table (`KernelBackend`) does so.
    public func list(table: Table) throws(BerthError) -> Ruleset.TableContents? {
        try list().table(table.family, table.name)
    }

    /// Picks the chains from `list()`; `KernelBackend` reads them with one chain dump.
    public func listChains() throws(BerthError) -> [Chain] {
        try list().tables.flatMap { $0.chains.map(\.chain) }
    }

    /// The tables whose names start with `prefix`, as `nft list ruleset` prints them.
    public func dump(prefix: String = "") throws(BerthError) -> String {
        try list().tables(prefixed: prefix).rendered
    }

    /// One table as `nft list table <family> <name>` prints it.
    public func dump(_ family: Family, _ name: String) throws(BerthError) -> String {
        guard let table = try list(table: Table(family, name)) else {
            throw BerthError(.notFound, "table \(family) \(name) does not exist")
        }
        return Renderer.table(table)
    }
}

/// errno values the kernel answers with, shared by both backends so errors agree.
enum KernelErrno {
    static let noEntry: Int32 = 2
    static let exists: Int32 = 17
    static let busy: Int32 = 16
    static let invalid: Int32 = 22
    static let notSupported: Int32 = 95
    static let restart: Int32 = 85
}
