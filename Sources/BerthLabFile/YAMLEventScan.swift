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
/// - a file whose tree, aliases expanded, has more than `budget` nodes.
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
        var anchor: String?
    }

    static func check(_ text: String, source: String, budget: Int) throws(BerthError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        var failure: BerthError?
        bytes.withUnsafeBufferPointer { buffer in
            // libyaml keeps the pointer: every event is read inside this closure.
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var scan = Scan(source: source, budget: budget)
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
        var stack: [Frame] = []
        var anchors: [String: Int] = [:]
        var total = 0

        init(source: String, budget: Int) {
            self.source = source
            self.budget = budget
        }

        mutating func take(_ event: yaml_event_t) throws(BerthError) {
            let at = SourceLocation(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                try keyCheck(collection: false, alias: nil, at: at)
                try finish(size: 1, anchor: Self.string(event.data.scalar.anchor), at: at)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                try keyCheck(collection: false, alias: name, at: at)
                // An unknown alias is Yams' error to report; count it as one node.
                try finish(size: anchors[name] ?? 1, anchor: nil, at: at)
            case YAML_SEQUENCE_START_EVENT:
                try keyCheck(collection: true, alias: nil, at: at)
                stack.append(Frame(isMapping: false, expectingKey: false, size: 1, anchor: Self.string(event.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                try keyCheck(collection: true, alias: nil, at: at)
                stack.append(Frame(isMapping: true, expectingKey: true, size: 1, anchor: Self.string(event.data.mapping_start.anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { return }
                try finish(size: frame.size, anchor: frame.anchor, at: at)
            default:
                break
            }
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
        private mutating func finish(size: Int, anchor: String?, at: SourceLocation) throws(BerthError) {
            if let anchor { anchors[anchor] = size }
            if let last = stack.indices.last {
                stack[last].size = min(stack[last].size + size, budget + 1)
                if stack[last].size > budget { throw tooMany(at) }
            } else {
                total = min(total + size, budget + 1)
                if total > budget { throw tooMany(at) }
            }
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
