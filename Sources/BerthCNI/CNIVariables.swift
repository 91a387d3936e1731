/// A process's environment as name–value pairs in the order given. A later entry of a name
/// hides an earlier one, as in a dictionary filled from `environ` entry by entry.
///
/// Not a `[String: String]`: the first String-keyed hash table of a process costs the
/// Swift runtime a scan of every conformance record in the binary (`String: Hashable`,
/// ~180,000 instructions; docs/performance.md, perf6), and berth-cni's ADD had no other
/// String-keyed one. Lookups are linear: an environment holds tens of entries, and the
/// kernel bounds it (`ARG_MAX`), so a lookup stays bounded too.
public struct CNIVariables: Sendable, ExpressibleByDictionaryLiteral {
    /// The entries as given, duplicates included.
    public private(set) var pairs: [(String, String)]

    public init(_ pairs: [(String, String)] = []) { self.pairs = pairs }

    public init(_ dictionary: [String: String]) { pairs = dictionary.map { ($0.key, $0.value) } }

    public init(dictionaryLiteral elements: (String, String)...) { pairs = elements }

    /// Adds an entry; it hides any earlier one of the same name.
    public mutating func append(_ name: String, _ value: String) { pairs.append((name, value)) }

    /// The value of the last entry named `name`.
    public subscript(name: String) -> String? {
        pairs.last { $0.0 == name }?.1
    }

    /// The variables as a dictionary (a later entry of a name wins), for a delegated plugin.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in pairs { result[name] = value }
        return result
    }
}
