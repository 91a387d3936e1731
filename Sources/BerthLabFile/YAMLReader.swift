import BerthCore
import BerthLab
import Yams

/// Strict reading of a composed YAML tree: every key known, every value of the expected
/// shape, every error at its line and column. A budget of visited nodes bounds the work a
/// file can cause (aliases can make a small file expand into a huge tree).
final class YAMLReader {
    let source: String
    private var budget: Int

    init(source: String, budget: Int) {
        self.source = source
        self.budget = budget
    }

    static func location(_ mark: Mark?) -> SourceLocation? {
        mark.map { SourceLocation(line: $0.line, column: $0.column) }
    }

    func error(_ node: Node?, _ message: String, hint: String? = nil) -> BerthError {
        .labFile(source, Self.location(node?.mark), message, hint: hint)
    }

    func error(_ location: SourceLocation?, _ message: String, hint: String? = nil) -> BerthError {
        .labFile(source, location, message, hint: hint)
    }

    /// Counts a node against the budget.
    func visit(_ node: Node) throws(BerthError) {
        budget -= 1
        if budget < 0 {
            throw error(node, "the file expands to more than \(LabFileParser.maxYAMLNodes) YAML nodes", hint: "write the lab without deep aliases, or split it")
        }
    }

    /// Whether a node is YAML's null (`~`, `null`, or nothing).
    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The pairs of a mapping, keys as strings with their locations; only `allowed` keys,
    /// each key's text once. Yams refuses a key given twice only when text and tag are both
    /// the same, and YAML 1.1 resolves `8080` and `"8080"` (or `ON` and `"ON"`) to different
    /// tags: two such keys would be two pairs, of which one reader takes the first and
    /// another the last. `twice` words what a key names in the error (default: the key).
    func mapping(_ node: Node, _ what: String, allowed: [String], twice: ((String) -> String)? = nil) throws(BerthError) -> [(key: String, at: SourceLocation?, value: Node)] {
        try visit(node)
        guard case .mapping(let mapping) = node else {
            throw error(node, "\(what) must be a mapping of keys to values", hint: "known keys: \(allowed.joined(separator: ", "))")
        }
        var pairs: [(String, SourceLocation?, Node)] = []
        var seen: [String: SourceLocation?] = [:]
        for (keyNode, value) in mapping {
            let key = try scalar(keyNode, "a key in \(what)")
            guard allowed.isEmpty || allowed.contains(key) else {
                throw error(keyNode, "unknown key \"\(key)\" in \(what)", hint: "known keys: \(allowed.joined(separator: ", "))")
            }
            let at = Self.location(keyNode.mark)
            if let first = seen[key] {
                let subject = twice?(key) ?? "key \(key) in \(what)"
                throw error(at, "\(subject) is given twice" + (first.map { " (first at \($0))" } ?? ""), hint: "keep one")
            }
            seen[key] = at
            pairs.append((key, at, value))
        }
        return pairs
    }

    func sequence(_ node: Node, _ what: String) throws(BerthError) -> [Node] {
        try visit(node)
        guard case .sequence(let sequence) = node else { throw error(node, "\(what) must be a list", hint: "write it as [ a, b ] or as lines starting with '- '") }
        return Array(sequence)
    }

    func scalar(_ node: Node, _ what: String) throws(BerthError) -> String {
        try visit(node)
        guard case .scalar(let scalar) = node else { throw error(node, "\(what) must be a single value, not a list or mapping") }
        return scalar.string
    }

    /// A scalar or a list of scalars.
    func scalars(_ node: Node, _ what: String) throws(BerthError) -> [(String, SourceLocation?)] {
        if isNull(node) { return [] }
        if case .scalar = node { return [(try scalar(node, what), Self.location(node.mark))] }
        var out: [(String, SourceLocation?)] = []
        for item in try sequence(node, what) { out.append((try scalar(item, "an item of \(what)"), Self.location(item.mark))) }
        return out
    }

    /// Parses a value with `parse`, moving its error to the node's position.
    func value<T>(_ node: Node, _ what: String, _ parse: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        let text = try scalar(node, what)
        do throws(BerthError) {
            return try parse(text)
        } catch {
            throw self.error(node, "\(what): \(error.message)", hint: error.hint)
        }
    }

    func value<T>(_ text: String, at location: SourceLocation?, _ what: String, _ parse: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        do throws(BerthError) {
            return try parse(text)
        } catch {
            throw self.error(location, "\(what): \(error.message)", hint: error.hint)
        }
    }
}
