import BerthCore

/// A named set or map. A map is a set whose elements carry data (`dataType` is not nil).
///
/// Named `NFTSet`, not `Set`, so that importing this module does not shadow `Swift.Set`.
public struct NFTSet: Sendable, Hashable {
    /// The family of the set's table.
    public var family: Family
    /// The name of the set's table.
    public var table: String
    /// The set's name, unique in its table.
    public var name: String
    /// The type of each element's key; a set's key and a map's data are at most 64 bytes in the kernel's layout.
    public var keyType: TypeSpec
    /// The data type of a map; nil for a set.
    public var dataType: TypeSpec?
    /// `constant` or nothing: `interval` is refused when the set is queued.
    public var flags: SetFlags
    /// A comment kept in the set's user data: at most 127 bytes, without quotes or newlines.
    public var comment: String?

    /// A set (`dataType` nil) or a map. Nothing is checked until a transaction queues it;
    /// `Table.set` and `Table.map` fill in the family and table.
    public init(family: Family, table: String, name: String, keyType: TypeSpec, dataType: TypeSpec? = nil,
                flags: SetFlags = [], comment: String? = nil) {
        self.family = family
        self.table = table
        self.name = name
        self.keyType = keyType
        self.dataType = dataType
        self.flags = flags
        self.comment = comment
    }

    /// Whether elements carry data (a map).
    public var isMap: Bool { dataType != nil }

    /// "map ip berth publish", for messages.
    var label: String { "\(isMap ? "map" : "set") \(family) \(table) \(name)" }

    func validate() throws(BerthError) {
        try Names.validate(table, what: "table")
        try Names.validate(name, what: isMap ? "map" : "set")
        try Names.validate(comment: comment, of: label)
        guard !keyType.components.isEmpty, dataType?.components.isEmpty != true else {
            throw .invalid("\(label) needs a key type")
        }
        if flags.contains(.interval) {
            throw BerthError(.unsupported, "\(label): interval sets are not supported by Berth yet", hint: "use a plain set of addresses")
        }
        if keyType.length > 64 || (dataType?.length ?? 0) > 64 {
            throw .invalid("\(label): key or data longer than the kernel's 64-byte registers")
        }
    }

    /// Checks that an element fits this set's types.
    ///
    /// `commentChecked`: the element's comment is one already found valid (the previous
    /// element's, in a transaction).
    func validate(_ element: Element, commentChecked: Bool = false) throws(BerthError) {
        guard Self.values(element.key, are: keyType) else {
            throw .invalid("element \(Tuple.description(element.key)) does not match \(label) type \(keyType)")
        }
        if let dataType {
            guard let value = element.value, Self.values(value, are: dataType) else {
                throw .invalid("element \(Tuple.description(element.key)) of \(label) needs data of type \(dataType)")
            }
        } else if element.value != nil {
            throw .invalid("element \(Tuple.description(element.key)) has data but \(label) is a set, not a map")
        }
        if !commentChecked { try Names.validate(comment: element.comment, of: "element \(Tuple.description(element.key))") }
    }

    /// Whether `values` are of the types of `spec`, in order (compared in place: a batch
    /// validates a thousand elements).
    private static func values(_ values: [Value], are spec: TypeSpec) -> Bool {
        let types = spec.components
        guard values.count == types.count else { return false }
        for index in values.indices where values[index].type != types[index] { return false }
        return true
    }
}

/// Set flags (NFT_SET_*) Berth uses.
public struct SetFlags: OptionSet, Sendable, Hashable {
    /// The NFT_SET_* bits.
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Elements cannot change once the set is created.
    public static let constant = SetFlags(rawValue: 0x2)
    /// Elements are ranges or prefixes.
    public static let interval = SetFlags(rawValue: 0x4)

    static let map: UInt32 = 0x8
    static let anonymous: UInt32 = 0x1

    /// "constant,interval", as nft prints them; other bits (a set read back with `timeout`,
    /// `dynamic`, …) as a number, so a table with them never renders as Berth's.
    var rendered: String {
        var names: [String] = []
        if contains(.constant) { names.append("constant") }
        if contains(.interval) { names.append("interval") }
        let other = rawValue & ~(Self.constant.rawValue | Self.interval.rawValue)
        if other != 0 { names.append("0x" + String(other, radix: 16)) }
        return names.joined(separator: ",")
    }
}

/// One element of a set or map: a (possibly concatenated) key, the data of a map, a comment.
public struct Element: Sendable, Hashable {
    /// The key: one value per component of the set's key type, in order.
    public var key: [Value]
    /// A map element's data, one value per component of the map's data type; nil in a set.
    public var value: [Value]?
    /// A comment kept in the element's user data: at most 127 bytes, without quotes or newlines.
    public var comment: String?

    /// An element with `key`, and `value` for a map. Its types are checked against the set when queued.
    public init(_ key: [Value], _ value: [Value]? = nil, comment: String? = nil) {
        self.key = key
        self.value = value
        self.comment = comment
    }

    /// As nft prints it inside `elements = { … }`.
    public var rendered: String {
        var text = Tuple.description(key)
        if let comment { text += " comment \"\(comment)\"" }
        if let value { text += " : " + Tuple.description(value) }
        return text
    }
}
