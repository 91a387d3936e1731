import BerthCore

/// An nftables table: a namespace for chains, sets and maps of one family.
///
/// Berth never sets `NFT_TABLE_F_OWNER`: its rules must outlive the process that made them.
public struct Table: Sendable, Hashable {
    /// Which packets the table's chains see.
    public var family: Family
    /// The table's name, unique in its family: letters, digits, `-`, `_` and `.`, starting with a letter (checked when queued).
    public var name: String
    /// A comment kept in the table's user data: at most 127 bytes, without quotes or newlines (checked when queued).
    public var comment: String?
    /// The table's flags as read back (NFTA_TABLE_FLAGS). Berth writes none: a table it
    /// adds is neither dormant nor owned, and adding a table that exists clears `dormant`.
    public var flags: TableFlags = []
    /// The netlink port of the process owning the table (NFTA_TABLE_OWNER), when read back
    /// with `flags` holding `owner`: only that process may change it.
    public var owner: UInt32?

    /// The table `family name`. Nothing is checked until a transaction queues it.
    public init(_ family: Family, _ name: String, comment: String? = nil) {
        self.family = family
        self.name = name
        self.comment = comment
    }

    /// A chain of this table.
    public func chain(_ name: String, _ base: BaseChain? = nil, comment: String? = nil) -> Chain {
        Chain(family: family, table: self.name, name: name, base: base, comment: comment)
    }

    /// A set of this table.
    public func set(_ name: String, type: TypeSpec, flags: SetFlags = [], comment: String? = nil) -> NFTSet {
        NFTSet(family: family, table: self.name, name: name, keyType: type, dataType: nil, flags: flags, comment: comment)
    }

    /// A map of this table (a set whose elements carry data).
    public func map(_ name: String, type: TypeSpec, data: TypeSpec, flags: SetFlags = [], comment: String? = nil) -> NFTSet {
        NFTSet(family: family, table: self.name, name: name, keyType: type, dataType: data, flags: flags, comment: comment)
    }

    /// A rule appended to `chain` of this table.
    public func rule(in chain: String, _ statements: [Statement], comment: String? = nil) -> Rule {
        Rule(family: family, table: name, chain: chain, statements, comment: comment)
    }

    func validate() throws(BerthError) {
        try Names.validate(name, what: "table")
        try Names.validate(comment: comment, of: "table \(family) \(name)")
    }
}

enum Names {
    /// nftables object names: 1–255 bytes (NFT_NAME_MAXLEN 256 with the NUL); Berth also refuses
    /// characters nft would need quotes for, so the rendered text parses back.
    static func validate(_ name: String, what: String) throws(BerthError) {
        guard !name.isEmpty, name.utf8.count < 256 else {
            throw .invalid("\(what) name \"\(name)\" must be 1 to 255 bytes")
        }
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
        }
        guard allowed, let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else {
            throw .invalid("\(what) name \"\(name)\" is not a plain identifier", hint: "use letters, digits, '-', '_' and '.', starting with a letter")
        }
    }

    /// Comments live in 255-byte user data and are printed inside double quotes. `owner` is
    /// worded only for the error: validating a thousand map elements must not describe each.
    static func validate(comment: String?, of owner: @autoclosure () -> String) throws(BerthError) {
        guard let comment else { return }
        // Bytes, not Characters: no grapheme breaking for a check of two ASCII bytes.
        guard comment.utf8.count <= 127, !comment.utf8.contains(where: { $0 == 0x22 || $0 == 0x0A }) else {
            throw .invalid("comment of \(owner()) \"\(comment)\" must be at most 127 bytes without quotes or newlines")
        }
    }
}

/// The flags of a table (NFT_TABLE_F_*), as the kernel reports them.
public struct TableFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// NFT_TABLE_F_DORMANT: the table's base chains are unhooked; they see no packets.
    public static let dormant = TableFlags(rawValue: 1)
    /// NFT_TABLE_F_OWNER: the table belongs to one netlink socket (`Table.owner`); every
    /// other process's change to it is refused (EPERM), and it goes when that socket closes.
    public static let owner = TableFlags(rawValue: 2)
    /// NFT_TABLE_F_PERSIST: an owned table that outlives its owner's socket.
    public static let persist = TableFlags(rawValue: 4)
}
