/// A snapshot of tables with their sets, maps, elements, chains and rules, in the order the
/// kernel lists them. Both backends produce it; `Renderer` prints it as `nft list` does.
public struct Ruleset: Sendable, Hashable {
    /// One table with what it holds.
    public struct TableContents: Sendable, Hashable {
        /// The table itself.
        public var table: Table
        /// Named sets and maps in creation order (anonymous sets are not listed).
        public var sets: [SetContents]
        /// Chains in creation order.
        public var chains: [ChainContents]
        /// Objects the table holds that Berth cannot read ("set NAME" of types it does not
        /// know, "a rule" libnftnl could not parse), not in `sets` or `chains`: a table
        /// holding any is never taken for empty.
        public var unreadable: [String]

        /// A table holding `sets` and `chains`, and `unreadable` objects Berth could not read.
        public init(table: Table, sets: [SetContents] = [], chains: [ChainContents] = [], unreadable: [String] = []) {
            self.table = table
            self.sets = sets
            self.chains = chains
            self.unreadable = unreadable
        }
    }

    /// One named set or map with its elements.
    public struct SetContents: Sendable, Hashable {
        /// The set or map itself.
        public var set: NFTSet
        /// The elements, in the order listed (the kernel's, or insertion order in `FakeBackend`); `Renderer` sorts them as nft does.
        public var elements: [Element]
        /// `set` holding `elements`.
        public init(set: NFTSet, elements: [Element] = []) {
            self.set = set
            self.elements = elements
        }
    }

    /// One chain with its rules.
    public struct ChainContents: Sendable, Hashable {
        /// The chain itself.
        public var chain: Chain
        /// Rules in evaluation order, with handles when read from the kernel.
        public var rules: [Rule]
        /// `chain` holding `rules`, in evaluation order.
        public init(chain: Chain, rules: [Rule] = []) {
            self.chain = chain
            self.rules = rules
        }
    }

    /// The tables, in the order the kernel lists them.
    public var tables: [TableContents]

    /// A snapshot of `tables` (none by default).
    public init(tables: [TableContents] = []) { self.tables = tables }

    /// The tables whose name starts with `prefix`.
    public func tables(prefixed prefix: String) -> Ruleset {
        Ruleset(tables: tables.filter { $0.table.name.hasPrefix(prefix) })
    }

    /// The table `family name`, if present.
    public func table(_ family: Family, _ name: String) -> TableContents? {
        tables.first { $0.table.family == family && $0.table.name == name }
    }

    /// The whole snapshot as `nft list ruleset` prints it.
    public var rendered: String { tables.map(Renderer.table).joined() }
}
