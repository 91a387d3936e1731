import BerthCore

/// Prints objects exactly as nft 1.0.6 `list ruleset` / `list table` does (tabs, blank lines
/// between declarations, sorted elements with nft's line breaks).
public enum Renderer {
    /// `table <family> <name> { … }` with a trailing newline.
    public static func table(_ contents: Ruleset.TableContents) -> String {
        let table = contents.table
        var text = "table \(table.family) \(table.name) {\n"
        if let comment = table.comment { text += "\tcomment \"\(comment)\"\n" }
        var delimiter = ""
        for set in contents.sets {
            text += delimiter + Self.set(set)
            delimiter = "\n"
        }
        for chain in contents.chains {
            text += delimiter + Self.chain(chain)
            delimiter = "\n"
        }
        return text + "}\n"
    }

    /// A set or map declaration with its elements, indented as inside a table.
    public static func set(_ contents: Ruleset.SetContents) -> String {
        let set = contents.set
        var text = "\t\(set.isMap ? "map" : "set") \(set.name) {\n\t\ttype \(set.keyType)"
        if let data = set.dataType { text += " : \(data)" }
        text += "\n"
        if !set.flags.isEmpty { text += "\t\tflags \(set.flags.rendered)\n" }
        if let comment = set.comment { text += "\t\tcomment \"\(comment)\"\n" }
        if !contents.elements.isEmpty {
            text += "\t\telements = " + elements(contents.elements, keyType: set.keyType) + "\n"
        }
        return text + "\t}\n"
    }

    /// `{ a, b,\n\t\t\t     c }` — nft's element list: sorted by value, several per line
    /// for numbers (5) and IPv4 addresses (2), one per line otherwise.
    static func elements(_ elements: [Element], keyType: TypeSpec) -> String {
        let sorted = elements.sorted { Tuple.sortKey($0.key).lexicographicallyPrecedes(Tuple.sortKey($1.key)) }
        let perLine: Int
        if keyType.isConcatenation {
            perLine = 1
        } else {
            switch keyType.components[0] {
            case .inetProto, .inetService, .mark: perLine = 5
            case .ipv4Address: perLine = 2
            default: perLine = 1
            }
        }
        var text = "{ "
        var count = 0
        for (index, element) in sorted.enumerated() {
            if index > 0 {
                if count < perLine {
                    text += ", "
                } else {
                    text += ",\n\t\t\t     "
                    count = 0
                }
            }
            text += element.rendered
            count += 1
        }
        return text + " }"
    }

    /// A chain with its rules, indented as inside a table.
    public static func chain(_ contents: Ruleset.ChainContents) -> String {
        let chain = contents.chain
        var text = "\tchain \(chain.name) {\n"
        if let comment = chain.comment { text += "\t\tcomment \"\(comment)\"\n" }
        if let base = chain.base {
            text += "\t\ttype \(base.type.rawValue) hook \(base.hook.rawValue) priority \(base.priority.rendered(hook: base.hook)); policy \(base.policy.rawValue);\n"
        }
        for rule in contents.rules {
            text += "\t\t" + Self.rule(rule) + "\n"
        }
        return text + "\t}\n"
    }

    /// One rule's statements and comment on one line, without indentation.
    public static func rule(_ rule: Rule) -> String {
        var words: [String] = []
        var index = 0
        let statements = rule.statements
        while index < statements.count {
            // nft folds `meta l4proto tcp th dport 80` into `tcp dport 80`.
            if case .l4proto(let proto) = statements[index], ProtocolName.hasPorts(proto),
               index + 1 < statements.count, case .thDport(let port) = statements[index + 1] {
                words.append("\(ProtocolName.name(proto)) dport \(port)")
                index += 2
                continue
            }
            words.append(statement(statements[index], family: rule.family))
            index += 1
        }
        if let comment = rule.comment { words.append("comment \"\(comment)\"") }
        return words.joined(separator: " ")
    }

    static func statement(_ statement: Statement, family: Family) -> String {
        switch statement {
        case .l4proto(let p): "meta l4proto \(ProtocolName.name(p))"
        case .thDport(let p): "th dport \(p)"
        case .saddr(let c): "\(c.family == .ipv4 ? "ip" : "ip6") saddr \(prefix(c))"
        case .daddr(let c): "\(c.family == .ipv4 ? "ip" : "ip6") daddr \(prefix(c))"
        case .iifname(let n, let neg): "iifname \(neg ? "!= " : "")\"\(n)\""
        case .oifname(let n, let neg): "oifname \(neg ? "!= " : "")\"\(n)\""
        case .fibDaddrTypeLocal: "fib daddr type local"
        case .ctState(let s): "ct state \(s.rendered)"
        case .ctStatusDnat: "ct status dnat"
        case .counter(let p, let b): "counter packets \(p) bytes \(b)"
        case .dnat(let address, let port):
            dnatPrefix(address.family == .ipv4 ? .ip : .ip6, family: family) + target(address, port)
        case .dnatMap(let version, let key, let map):
            "dnat \(version.rawValue) to \(key.map(\.rendered).joined(separator: " . ")) map @\(map)"
        case .lookup(let key, let set):
            "\(key.map(\.rendered).joined(separator: " . ")) @\(set)"
        case .masquerade: "masquerade"
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let c): "jump \(c)"
        case .goto(let c): "goto \(c)"
        case .unrecognized(let text): "# unrecognized: \(text)"
        }
    }

    private static func dnatPrefix(_ version: IPVersion, family: Family) -> String {
        family == .inet ? "dnat \(version.rawValue) to " : "dnat to "
    }

    private static func target(_ address: IPAddress, _ port: UInt16?) -> String {
        guard let port else { return address.description }
        return address.family == .ipv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    private static func prefix(_ cidr: CIDR) -> String {
        let full = cidr.family == .ipv4 ? 32 : 128
        return cidr.prefixLength == full ? cidr.address.description : cidr.network.description
    }
}
