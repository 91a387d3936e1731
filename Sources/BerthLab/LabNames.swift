import BerthCore

/// How a lab names and tags what it makes, so that `down` and garbage collection find every
/// piece from the kernel alone, even after a crash and without state:
///
/// - a node is the network namespace `LAB-NODE` (as `ip netns` shows it), and its `lo`
///   carries the alias `berth-lab LAB NODE STATE` — the tag that proves the namespace is the
///   lab's. STATE names the state store the lab is recorded in (`stateTag`): namespaces
///   are machine-wide, and garbage collection over one store must not take another
///   store's labs (a second state directory, or each test's own);
/// - both ends of a link carry the alias `berth-lab LAB A:IFACE B:IFACE` (the link's key);
/// - a node's endpoint on a Berth network and its container are named `LAB-NODE` too.
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
    /// Each declared network is a bridge (and firewall rules) on the host.
    public static let maxNetworks = 64
    public static let maxPublishPerNode = 64

    /// The namespace of a node.
    public static func namespace(lab: String, node: String) -> String { "\(lab)-\(node)" }

    /// The tag on a node's `lo`.
    public static func nodeAlias(lab: String, node: String, state: String) -> String { "\(aliasPrefix)\(lab) \(node) \(state)" }

    /// The tag of a state store: 16 hex digits of a hash (FNV-1a) of its directory's path,
    /// the same in every process that opens it.
    public static func stateTag(directory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in directory.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The tag on both ends of a link.
    public static func linkAlias(lab: String, key: String) -> String { "\(aliasPrefix)\(lab) \(key)" }

    /// The lab, node and state tag a `lo` alias names, if it is a lab's tag.
    public static func node(fromAlias alias: String?) -> (lab: String, node: String, state: String)? {
        guard let alias, alias.hasPrefix(aliasPrefix) else { return nil }
        let words = alias.dropFirst(aliasPrefix.count).split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 3, !words.contains(where: \.isEmpty) else { return nil }
        return (String(words[0]), String(words[1]), String(words[2]))
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
