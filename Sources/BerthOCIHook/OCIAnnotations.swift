/// A container's annotations as name–value pairs, in the order the document gave them.
/// Names are unique: the JSON parser refuses an object with a repeated key.
///
/// Not a `[String: String]`: the first String-keyed hash table of a process costs the
/// Swift runtime a scan of every conformance record in the binary (`String: Hashable`,
/// ~180,000 instructions; docs/performance.md, perf6), and the hook's createRuntime had no
/// other String-keyed one. Lookups are linear: the hook looks up five names, and the
/// document holding the annotations is bounded (`OCIState.limit`, config.json's limit).
public struct OCIAnnotations: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The annotations, each name once.
    public private(set) var pairs: [(String, String)]

    /// No annotations.
    public init() { pairs = [] }

    /// `pairs` must not repeat a name (a later one would be hidden by an earlier one).
    init(uniquePairs pairs: [(String, String)]) { self.pairs = pairs }

    /// The dictionary's annotations, in no particular order.
    public init(_ dictionary: [String: String]) { pairs = dictionary.map { ($0.key, $0.value) } }

    /// The annotations written; a repeated name keeps the last value, at the first place.
    public init(dictionaryLiteral elements: (String, String)...) {
        pairs = []
        for (name, value) in elements { self[name] = value }
    }

    /// How many annotations there are.
    public var count: Int { pairs.count }
    /// Whether there are none.
    public var isEmpty: Bool { pairs.isEmpty }

    /// The value of `name`; setting replaces it in place or adds it at the end, nil removes it.
    public subscript(name: String) -> String? {
        get { pairs.first { $0.0 == name }?.1 }
        set {
            let index = pairs.firstIndex { $0.0 == name }
            switch (index, newValue) {
            case let (index?, value?): pairs[index].1 = value
            case let (index?, nil): pairs.remove(at: index)
            case let (nil, value?): pairs.append((name, value))
            case (nil, nil): break
            }
        }
    }

    /// These annotations with `other`'s added; a name in both takes `other`'s value.
    /// A lookup per annotation of `other`, each linear: for small sets only (the hook reads
    /// its names from a state and a config with `HookAnnotations(_:over:)` instead).
    public func merging(_ other: OCIAnnotations) -> OCIAnnotations {
        var result = self
        for (name, value) in other.pairs { result[name] = value }
        return result
    }

    /// The annotations as a dictionary.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in pairs { result[name] = value }
        return result
    }

    /// Equal when both hold the same names with the same values, in any order.
    public static func == (lhs: OCIAnnotations, rhs: OCIAnnotations) -> Bool {
        lhs.count == rhs.count && lhs.pairs.allSatisfy { rhs[$0.0] == $0.1 }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent, as equality is.
        var combined = 0
        for (name, value) in pairs {
            var one = Hasher()
            one.combine(name)
            one.combine(value)
            combined ^= one.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}
