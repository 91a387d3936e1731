public import BerthCore

/// Docker's `--env-file` format: one `KEY=VALUE` per line, taken literally (no quotes, no
/// expansion); blank lines and lines starting with `#` are skipped; a line with a name alone
/// takes that variable from the caller's environment, and is dropped when it has none. As
/// docker/cli reads it: a UTF-8 byte order mark opening the first line is dropped, and a
/// line that is not valid UTF-8 (a comment too) is refused, naming the line.
public enum EnvironmentFile {
    /// The most an environment file may hold.
    public static let limit = 1 << 20

    /// The `KEY=VALUE` entries of `text`; `lookup` reads the caller's environment. `source`
    /// names the file in errors.
    public static func parse(_ text: String, source: String, lookup: (String) -> String?) throws(BerthError) -> [String] {
        try parse(bytes: Array(text.utf8), source: source, lookup: lookup)
    }

    /// The `KEY=VALUE` entries of a file's bytes (see the type's comment); lines end at
    /// "\n", a "\r" before it dropped.
    public static func parse(bytes: [UInt8], source: String, lookup: (String) -> String?) throws(BerthError) -> [String] {
        var lines: [String] = []
        for (index, raw) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = raw
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw .invalid("\(source) line \(index + 1): not valid UTF-8", hint: "save the file as UTF-8", parameter: "environment")
            }
            // A byte order mark (EF BB BF, as Windows editors save UTF-8) is no part of a name.
            lines.append(index == 0 && line.starts(with: [0xEF, 0xBB, 0xBF]) ? String(text.unicodeScalars.dropFirst()) : text)
        }
        return try parse(lines: lines, source: source, lookup: lookup)
    }

    private static func parse(lines: [String], source: String, lookup: (String) -> String?) throws(BerthError) -> [String] {
        var entries: [String] = []
        for (index, line) in lines.enumerated() {
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
