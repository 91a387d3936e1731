import BerthCore

/// How a lab names and tags what it makes, so that `down` and garbage collection find every
/// piece from the kernel alone, even after a crash and without state:
///
/// - a node is the network namespace `LAB-NODE` (as `ip netns` shows it), and its `lo`
///   carries the alias `berth-lab LAB NODE` — the tag that proves the namespace is the lab's;
/// - both ends of a link carry the alias `berth-lab LAB A:IFACE B:IFACE` (the link's key).
public enum LabNames {
    public static let aliasPrefix = "berth-lab "
    /// Limits that keep names readable and namespace paths short.
    public static let maxLabName = 32
    public static let maxNodeName = 32
    /// Caps on what one file may declare: a lab file is input from users and gets shared.
    public static let maxNodes = 1024
    public static let maxLinks = 4096
    public static let maxRoutesPerNode = 256
    public static let maxAddressesPerEndpoint = 64
    public static let maxSysctlsPerNode = 256

    /// The namespace of a node.
    public static func namespace(lab: String, node: String) -> String { "\(lab)-\(node)" }

    /// The tag on a node's `lo`.
    public static func nodeAlias(lab: String, node: String) -> String { "\(aliasPrefix)\(lab) \(node)" }

    /// The tag on both ends of a link.
    public static func linkAlias(lab: String, key: String) -> String { "\(aliasPrefix)\(lab) \(key)" }

    /// The lab and node a `lo` alias names, if it is a lab's tag.
    public static func node(fromAlias alias: String?) -> (lab: String, node: String)? {
        guard let alias, alias.hasPrefix(aliasPrefix) else { return nil }
        let words = alias.dropFirst(aliasPrefix.count).split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 2, !words[0].isEmpty, !words[1].isEmpty else { return nil }
        return (String(words[0]), String(words[1]))
    }

    /// The lab and link key a veth alias names, if it is a lab's tag.
    public static func link(fromAlias alias: String?) -> (lab: String, key: String)? {
        guard let alias, alias.hasPrefix(aliasPrefix) else { return nil }
        let rest = alias.dropFirst(aliasPrefix.count)
        guard let space = rest.firstIndex(of: " ") else { return nil }
        return (String(rest[..<space]), String(rest[rest.index(after: space)...]))
    }

    /// Checks a lab or node name: letters, digits, `_`, `.` and `-`, starting with a letter
    /// or digit, at most `limit` bytes.
    public static func check(_ name: String, what: String, limit: Int) -> String? {
        guard let first = name.utf8.first else { return "\(what) name is empty" }
        if name.utf8.count > limit { return "\(what) name \"\(name)\" is over \(limit) bytes" }
        let isAlnum = { (c: UInt8) in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        guard isAlnum(first), name.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return "\(what) name \"\(name)\" has characters other than letters, digits, '_', '.' and '-', or does not start with a letter or digit"
        }
        return nil
    }
}
