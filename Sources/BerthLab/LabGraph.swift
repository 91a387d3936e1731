extension LabSpec {
    /// The topology in Graphviz's dot language: nodes as boxes, links as edges labelled
    /// with each end's interface and addresses and the link's impairment.
    public var dot: String {
        var lines = ["graph \(Self.quote(name)) {", "  node [shape=box, style=rounded];"]
        for node in nodes {
            var label = node.name
            if !node.routes.isEmpty { label += "\\n" + node.routes.map(\.description).joined(separator: "\\n") }
            lines.append("  \(Self.quote(node.name)) [label=\(Self.quote(label))];")
        }
        for link in links where link.endpoints.count == 2 {
            let (a, b) = (link.endpoints[0], link.endpoints[1])
            func end(_ e: EndpointSpec) -> String { ([e.interface.rawValue] + e.addresses.map(\.description)).joined(separator: "\\n") }
            var attributes = ["taillabel=\(Self.quote(end(a)))", "headlabel=\(Self.quote(end(b)))"]
            let impairments = Set(link.endpoints.map(\.impairment)).filter { !$0.isEmpty }
            if !impairments.isEmpty { attributes.append("label=\(Self.quote(impairments.map(\.description).sorted().joined(separator: "\\n")))") }
            lines.append("  \(Self.quote(a.node)) -- \(Self.quote(b.node)) [\(attributes.joined(separator: ", "))];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A dot string literal: quotes and backslashes other than `\n` escaped.
    static func quote(_ text: String) -> String {
        var out = "\""
        var chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == "n" { out += "\\n"; i += 2; continue }
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
            i += 1
        }
        chars.removeAll()
        return out + "\""
    }
}
