/// System call names and numbers of one ABI (generated: see scripts/gen-syscall-tables).
///
/// A sorted array searched by halves rather than a dictionary: a container's start looks up
/// some 900 names once, and building and hashing a dictionary for that cost more than the
/// rest of the compilation.
struct SyscallTable: Sendable {
    /// (name, number), names in ascending bytewise order.
    let entries: [(name: String, number: UInt32)]

    init(sorted entries: [(String, UInt32)]) { self.entries = entries.map { (name: $0.0, number: $0.1) } }

    /// The number of `name`, or nil when the ABI has no such call (`open` on aarch64).
    func number(of name: String) -> UInt32? {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = entries[middle].name
            if candidate == name { return entries[middle].number }
            if candidate < name { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Every (name, number).
    var numbers: [String: UInt32] { Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.number) }) }
}
