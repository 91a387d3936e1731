/// Which parts of a JSON document a reader builds (`JSONValue(parsingUTF8:keeping:)`).
///
/// A reader that needs three members of a large document — the OCI hook reads
/// `linux.namespaces`, `annotations` and `process.env` of a runtime's `config.json`, whose
/// mounts, capabilities and seccomp profile it never looks at — still has every byte
/// checked, but only the named members become values: the rest costs a scan, not a tree of
/// strings and arrays (a `runc spec` config.json: 219,574 → 179,838 instructions of a hook
/// call, docs/performance.md — the scan itself is most of what is left).
///
/// A projection names object members, each with the projection of its value; `all` keeps a
/// value whole. A value that a projection expects to be an object but is not (an array, a
/// string) is kept whole, so a reader's type check sees what the document holds.
public struct JSONProjection: Sendable {
    /// The kept members and their projections; nil keeps the whole value.
    let members: [(key: String, projection: JSONProjection)]?

    /// Keeps the whole value.
    public static let all = JSONProjection(members: nil)

    /// Keeps these members of an object, each as its projection; the object's other members
    /// are checked and left out.
    public static func members(_ members: KeyValuePairs<String, JSONProjection>) -> JSONProjection {
        JSONProjection(members: members.map { (key: $0.key, projection: $0.value) })
    }

    /// The projection of member `key`; nil when it is not kept.
    func member(_ key: String) -> JSONProjection? {
        guard let members else { return .all }
        return members.first { $0.key == key }?.projection
    }
}
