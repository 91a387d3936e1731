internal import CMNL
public import BerthCore
public import BerthNamespace

/// The connection tracking table of one network namespace, over ctnetlink
/// (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK).
///
/// Port publishing needs it to drop stale entries: a flow that started before its DNAT rule
/// existed, or while the host port led to another container, keeps its old NAT decision
/// until its entry is deleted. After changing the rules:
///
/// ```swift
/// let conntrack = try Conntrack(namespace: host)
/// try conntrack.deleteEntries(matchingAny: mappings.map(ConntrackFilter.published) + [.address(containerIP)])
/// ```
///
/// Safe for concurrent use: it keeps no state of its own, and its transport serves one
/// request/reply cycle at a time (`NetlinkTransport`).
public final class Conntrack: Sendable {
    /// The namespace the handle works in; nil for the caller's own.
    public let namespace: NetworkNamespace?
    /// Where requests go: a `NetlinkSocket` or, in tests, a recorder.
    public let transport: any NetlinkTransport

    /// How many deletions share one `sendmsg`: each ack takes receive-buffer room until read,
    /// and an overrun socket drops acks (ENOBUFS) rather than blocking the kernel.
    static let deletionsPerRequest = 256
    /// ENOENT, which a delete of an entry that has just expired gets.
    private static let noSuchEntry: Int32 = 2

    /// Opens a netfilter netlink socket inside `namespace` (the caller's namespace if nil).
    public convenience init(namespace: NetworkNamespace? = nil) throws(BerthError) {
        self.init(transport: try NetlinkSocket(.netfilter, in: namespace), namespace: namespace)
    }

    /// Works over any transport, such as a recorder in tests.
    public init(transport: any NetlinkTransport, namespace: NetworkNamespace? = nil) {
        self.transport = transport
        self.namespace = namespace
    }

    /// Every entry of the table, or of one family.
    public func entries(family: IPFamily? = nil) throws(BerthError) -> [ConntrackEntry] {
        var request = NetlinkRequest()
        let what = family.map { " \($0)" } ?? ""
        try request.append(type: CTNL.get, flags: NetlinkFlags.dump, sequence: transport.nextSequence(),
                           operation: "list\(what) conntrack entries\(whereabouts)", acknowledged: false) { b in
            // AF_UNSPEC dumps both families.
            b.putFamilyHeader(Self.header(family.map(AddressFamily.of) ?? AddressFamily.unspec))
        }
        do {
            return try transport.dump(request).compactMap(ConntrackEntry.init(message:))
        } catch {
            throw error.berthError
        }
    }

    /// The entries `filter` matches.
    public func entries(matching filter: ConntrackFilter) throws(BerthError) -> [ConntrackEntry] {
        try entries(family: filter.family).filter(filter.matches)
    }

    /// Deletes one entry, found by its original tuple (and id and zone when known). Returns
    /// false if it was already gone: entries expire and are replaced all the time.
    @discardableResult
    public func delete(_ entry: ConntrackEntry) throws(BerthError) -> Bool {
        var request = NetlinkRequest()
        try appendDelete(entry, to: &request)
        do {
            _ = try transport.transact(request)
            return true
        } catch where error.errno.code == Self.noSuchEntry {
            return false
        } catch {
            throw error.berthError
        }
    }

    /// Deletes `entries`, many per `sendmsg`. An entry already gone is not an error. Returns
    /// how many were asked to go (gone either way afterwards).
    @discardableResult
    public func delete(_ entries: [ConntrackEntry]) throws(BerthError) -> Int {
        var start = 0
        while start < entries.count {
            let chunk = entries[start..<min(start + Self.deletionsPerRequest, entries.count)]
            start = chunk.endIndex
            var request = NetlinkRequest()
            // An entry that expired since the dump answers ENOENT: tolerated per message, so
            // the first refusal reported is a real one, with its own entry's words.
            for entry in chunk { try appendDelete(entry, to: &request, tolerating: [Self.noSuchEntry]) }
            do {
                _ = try transport.transact(request)
            } catch {
                throw error.berthError
            }
        }
        return entries.count
    }

    /// Dumps the table once and deletes every entry that `filter` matches, in one `sendmsg`
    /// for up to 256 entries. Returns how many entries matched.
    @discardableResult
    public func deleteEntries(matching filter: ConntrackFilter) throws(BerthError) -> Int {
        try deleteEntries(matchingAny: [filter])
    }

    /// Dumps the table once and deletes every entry that any of `filters` matches: one dump
    /// and one `sendmsg` (per 256 entries) for all the ports and addresses of an attach or a
    /// detach. Returns how many entries matched.
    @discardableResult
    public func deleteEntries(matchingAny filters: [ConntrackFilter]) throws(BerthError) -> Int {
        guard !filters.isEmpty else { return 0 }
        let families = Set(filters.map(\.family))
        let family = families.count == 1 ? families.first ?? nil : nil
        let doomed = try entries(family: family).filter { entry in filters.contains { $0.matches(entry) } }
        return try delete(doomed)
    }

    // MARK: - Plumbing

    private func appendDelete(_ entry: ConntrackEntry, to request: inout NetlinkRequest, tolerating tolerated: [Int32] = []) throws(BerthError) {
        try request.append(type: CTNL.delete, flags: 0, sequence: transport.nextSequence(),
                           operation: "delete conntrack entry \(entry.original)\(whereabouts)", tolerated: tolerated) { b in
            b.putFamilyHeader(Self.header(AddressFamily.of(entry.family)))
            b.nest(CTA.tupleOrig) { b in entry.original.put(into: &b) }
            if let id = entry.id { b.put(CTA.id, u32: id.bigEndian) }
            if let zone = entry.zone, zone != 0 { b.put(CTA.zone, u16: zone.bigEndian) }
        }
    }

    private static func header(_ family: UInt8) -> nfgenmsg {
        nfgenmsg(nfgen_family: family, version: CTNL.version, res_id: 0)
    }

    /// " in network namespace NAME", for messages.
    private var whereabouts: String {
        guard let namespace else { return "" }
        return " in network namespace \(namespace)"
    }
}
