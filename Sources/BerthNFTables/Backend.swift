public import BerthCore

/// Where transactions go: the kernel (`KernelBackend`) or memory (`FakeBackend`). Both have the
/// same semantics and list the same `Ruleset`, so higher layers test against golden nft text.
/// A backend is shared by a `HostHandle`'s callers on any thread: safe for concurrent use.
public protocol NFTablesBackend: AnyObject, Sendable {
    /// Applies every operation or none. Throws the first invalid object, or the first operation
    /// refused, named in the error's message (codes: alreadyExists, notFound, conflict, unsupported…).
    func apply(_ transaction: Transaction) throws(BerthError)

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
