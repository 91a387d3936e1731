/// Which record a local answer with several addresses starts with: each query for one name
/// and type starts one record further than the last, so that clients that take the first
/// address (most do) spread over the endpoints sharing an alias. Docker's resolver shuffles
/// such answers (moby's `shuffleAddr`); a rotation spreads them as evenly, and the same
/// queries always get the same answers.
///
/// Kept per network (zone), name and type: one counter for all names would let the A and
/// AAAA queries a client sends together for each lookup advance it by two, and a name with
/// two addresses would then always answer the same one first; one shared by networks would
/// let a container tell from its answers' order that another network asks for that name. Only names answered with several records
/// have an entry, so its size is bounded by the table; the server starts a new one with
/// each table.
public struct DNSAnswerRotation: Sendable {
    private struct Key: Hashable {
        let zone: Int
        /// Compared and hashed case-insensitively (`DNSName ==`).
        let name: DNSName
        let type: DNSRecordType
    }

    private var next: [Key: Int] = [:]

    /// A rotation where every name starts at its first record.
    public init() {}

    /// The offset to start `count` records of `name` and `type` in `zone` at, and the next query's.
    mutating func take(zone: Int, name: DNSName, type: DNSRecordType, count: Int) -> Int {
        guard count > 1 else { return 0 }
        let key = Key(zone: zone, name: name, type: type)
        let offset = (next[key] ?? 0) % count
        next[key] = (offset + 1) % count
        return offset
    }

    /// `records` started at the offset `take` gives.
    mutating func rotate<T>(_ records: [T], zone: Int, name: DNSName, type: DNSRecordType) -> [T] {
        let offset = take(zone: zone, name: name, type: type, count: records.count)
        guard offset > 0 else { return records }
        return Array(records[offset...] + records[..<offset])
    }
}
