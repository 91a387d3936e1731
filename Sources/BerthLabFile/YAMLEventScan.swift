import BerthCore
import BerthLab
internal import CYaml

/// A pass over libyaml's event stream before Yams composes the tree, in time linear in the
/// file. Composing is not bounded by itself: Yams hashes every mapping key to find
/// duplicates, and hashing a key walks its subtree with aliases expanded, so a key that is
/// an alias of a nested alias tree (`? *a9 : 1`) costs billions of steps from a few hundred
/// bytes. This pass refuses, at its line and column:
///
/// - a key that is not a single value (an alias, a list or a mapping): a lab file's keys
///   are all names;
/// - a tag (`!x`, `!!str`): the reader reads every value as text whatever its tag, and Yams
///   tells keys apart by text and tag (`name` and `!x name` would be two keys);
/// - a file whose tree, aliases expanded, has more than `budget` nodes;
/// - a file whose values, aliases expanded, hold more than `byteBudget` bytes: a node
///   budget alone lets one large anchored value be repeated by thousands of aliases, each
///   cheap to scan and costly to use (a route parsed, an environment entry copied);
/// - a single value over `maxScalarBytes` bytes.
///
/// A syntax error stops the pass quietly: Yams reports it, at the same place, having
/// composed no more than this pass has checked.
enum YAMLEventScan {
    private struct Frame {
        var isMapping: Bool
        /// In a mapping: whether the next node is a key.
        var expectingKey: Bool
        /// Nodes so far, aliases expanded (saturating past the budget).
        var size: Int
        /// Bytes of values so far, aliases expanded (saturating past the byte budget).
        var bytes: Int = 0
        var anchor: String?
    }

    /// The longest value a lab file holds: names, addresses, routes, commands and their
    /// arguments are far shorter.
    static let maxScalarBytes = 65536

    static func check(_ text: String, source: String, budget: Int, byteBudget: Int) throws(BerthError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        var failure: BerthError?
        bytes.withUnsafeBufferPointer { buffer in
            // libyaml keeps the pointer: every event is read inside this closure.
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var scan = Scan(source: source, budget: budget, byteBudget: byteBudget)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return }
                do throws(BerthError) {
                    try scan.take(event)
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
    }

    private struct Scan {
        let source: String
        let budget: Int
        let byteBudget: Int
        var stack: [Frame] = []
        /// Each anchor's node's size and bytes, aliases expanded.
        var anchors: [String: (size: Int, bytes: Int)] = [:]
        var total = 0
        var totalBytes = 0

        init(source: String, budget: Int, byteBudget: Int) {
            self.source = source
            self.budget = budget
            self.byteBudget = byteBudget
        }

        mutating func take(_ event: yaml_event_t) throws(BerthError) {
            let at = SourceLocation(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                try tagCheck(event.data.scalar.tag, at: at)
                try keyCheck(collection: false, alias: nil, at: at)
                let length = Int(event.data.scalar.length)
                if length > YAMLEventScan.maxScalarBytes {
                    throw BerthError.labFile(source, at, "a value of \(length) bytes; a lab file's values are at most \(YAMLEventScan.maxScalarBytes)",
                                             hint: "shorten it")
                }
                try finish(size: 1, bytes: length, anchor: Self.string(event.data.scalar.anchor), at: at)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                try keyCheck(collection: false, alias: name, at: at)
                // An unknown alias is Yams' error to report; count it as one node.
                let anchored = anchors[name] ?? (size: 1, bytes: 0)
                try finish(size: anchored.size, bytes: anchored.bytes, anchor: nil, at: at)
            case YAML_SEQUENCE_START_EVENT:
                try tagCheck(event.data.sequence_start.tag, at: at)
                try keyCheck(collection: true, alias: nil, at: at)
                stack.append(Frame(isMapping: false, expectingKey: false, size: 1, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                try tagCheck(event.data.mapping_start.tag, at: at)
                try keyCheck(collection: true, alias: nil, at: at)
                stack.append(Frame(isMapping: true, expectingKey: true, size: 1, anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { return }
                try finish(size: frame.size, bytes: frame.bytes, anchor: frame.anchor, at: at)
            default:
                break
            }
        }

        /// Refuses an explicit tag (libyaml gives none for an untagged node).
        private func tagCheck(_ tag: UnsafeMutablePointer<yaml_char_t>?, at: SourceLocation) throws(BerthError) {
            guard let tag = Self.string(tag) else { return }
            throw BerthError.labFile(source, at, "a YAML tag (\(tag)) is used; a lab file takes no tags",
                                     hint: "leave the tag out; quote a value to keep it text")
        }

        /// Refuses a key that is not a plain single value; flips the mapping's key/value turn.
        private mutating func keyCheck(collection: Bool, alias: String?, at: SourceLocation) throws(BerthError) {
            guard let last = stack.indices.last, stack[last].isMapping else { return }
            let isKey = stack[last].expectingKey
            stack[last].expectingKey.toggle()
            guard isKey else { return }
            if let alias {
                throw BerthError.labFile(source, at, "the alias *\(alias) is used as a key; keys in a lab file are names",
                                         hint: "write the key out; aliases may stand only for values")
            }
            if collection {
                throw BerthError.labFile(source, at, "a key is a list or mapping; keys in a lab file are names", hint: "write the key as a single value")
            }
        }

        /// Adds a finished node (and everything under it) to its parent, or to the total.
        private mutating func finish(size: Int, bytes: Int, anchor: String?, at: SourceLocation) throws(BerthError) {
            if let anchor { anchors[anchor] = (size, bytes) }
            if let last = stack.indices.last {
                stack[last].size = min(stack[last].size + size, budget + 1)
                if stack[last].size > budget { throw tooMany(at) }
                stack[last].bytes = min(stack[last].bytes + bytes, byteBudget + 1)
                if stack[last].bytes > byteBudget { throw tooLarge(at) }
            } else {
                total = min(total + size, budget + 1)
                if total > budget { throw tooMany(at) }
                totalBytes = min(totalBytes + bytes, byteBudget + 1)
                if totalBytes > byteBudget { throw tooLarge(at) }
            }
        }

        private func tooLarge(_ at: SourceLocation) -> BerthError {
            .labFile(source, at, "the file's values, aliases expanded, are over \(byteBudget) bytes",
                     hint: "repeat large values less through aliases, or split the lab")
        }

        private func tooMany(_ at: SourceLocation) -> BerthError {
            .labFile(source, at, "the file expands to more than \(budget) YAML nodes", hint: "write the lab without deep aliases, or split it")
        }

        static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            guard let pointer else { return nil }
            return String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
        }
    }
}
