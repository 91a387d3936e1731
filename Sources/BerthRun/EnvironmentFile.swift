public import BerthCore

/// Docker's `--env-file` format: one `KEY=VALUE` per line, taken literally (no quotes, no
/// expansion); blank lines and lines starting with `#` are skipped; a line with a name alone
/// takes that variable from the caller's environment, and is dropped when it has none.
public enum EnvironmentFile {
    /// The most an environment file may hold.
    public static let limit = 1 << 20

    /// The `KEY=VALUE` entries of `text`; `lookup` reads the caller's environment. `source`
    /// names the file in errors.
    public static func parse(_ text: String, source: String, lookup: (String) -> String?) throws(BerthError) -> [String] {
        var entries: [String] = []
        // "\r\n" is one Character in Swift: a file written on Windows splits as well.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let name: Substring
            let value: Substring?
            if let equals = trimmed.firstIndex(of: "=") {
                name = trimmed[..<equals]
                value = trimmed[trimmed.index(after: equals)...]
            } else {
                name = trimmed
                value = nil
            }
            guard !name.isEmpty else {
                throw .invalid("\(source) line \(index + 1): no variable name before '='", hint: "write KEY=VALUE", parameter: "environment")
            }
            guard !name.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw .invalid("\(source) line \(index + 1): variable \"\(name.trimmingSuffixBlanks())\" contains whitespace", hint: "write KEY=VALUE with no space in KEY",
                               parameter: "environment")
            }
            if let value {
                entries.append(name + "=" + value)
            } else if let inherited = lookup(String(name)) {
                entries.append(name + "=" + inherited)
            }
        }
        return entries
    }
}

extension Substring {
    fileprivate func trimmingSuffixBlanks() -> Substring {
        var text = self
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
