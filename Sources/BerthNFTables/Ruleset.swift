/// A snapshot of tables with their sets, maps, elements, chains and rules, in the order the
/// kernel lists them. Both backends produce it; `Renderer` prints it as `nft list` does.
public struct Ruleset: Sendable, Hashable {
    public struct TableContents: Sendable, Hashable {
        public var table: Table
        /// Named sets and maps in creation order (anonymous sets are not listed).
        public var sets: [SetContents]
        /// Chains in creation order.
        public var chains: [ChainContents]
        /// Objects the table holds that Berth cannot read ("set NAME" of types it does not
        /// know, "a rule" libnftnl could not parse), not in `sets` or `chains`: a table
        /// holding any is never taken for empty.
        public var unreadable: [String]

        public init(table: Table, sets: [SetContents] = [], chains: [ChainContents] = [], unreadable: [String] = []) {
            self.table = table
            self.sets = sets
            self.chains = chains
            self.unreadable = unreadable
        }
    }

    public struct SetContents: Sendable, Hashable {
        public var set: NFTSet
        public var elements: [Element]
        public init(set: NFTSet, elements: [Element] = []) {
            self.set = set
            self.elements = elements
        }
    }

    public struct ChainContents: Sendable, Hashable {
        public var chain: Chain
        /// Rules in evaluation order, with handles when read from the kernel.
        public var rules: [Rule]
        public init(chain: Chain, rules: [Rule] = []) {
            self.chain = chain
            self.rules = rules
        }
    }

    public var tables: [TableContents]

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
