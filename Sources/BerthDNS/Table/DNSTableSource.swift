public import BerthCore

/// Where the resolver's names come from.
///
/// The server calls `load()` at start-up, on SIGHUP, and whenever `changeDescriptor`
/// becomes readable (after `drainChanges()`). A failed reload keeps the previous table.
/// Today's source is a file (`DNSTableFile`); Berth's SQLite state becomes one when the
/// resolver is wired into attach and detach (docs/dns.md, "Phase 2").
///
/// The server is single-threaded: a source is used from the thread that runs it only.
public protocol DNSTableSource: AnyObject {
    /// Reads the whole table.
    func load() throws(BerthError) -> DNSTable

    /// A descriptor the server polls for readability: an inotify watch, an eventfd, a
    /// socket that writers poke. Nil when only SIGHUP reloads.
    var changeDescriptor: Int32? { get }

    /// Consumes what made `changeDescriptor` readable; returns whether the table may have
    /// changed (an unrelated file in a watched directory did not change it).
    func drainChanges() -> Bool

    /// Called when the server, started with `exitWhenEmpty`, loaded an empty table and is
    /// about to exit: true lets it exit; false means the table is not empty after all (a
    /// writer changed it since `load`), and the server reloads instead. A source whose
    /// writers start and reuse the server decides this under their lock, so that none of
    /// them reuses a server that is exiting. A throw is retried like a failed reload.
    func confirmExit() throws(BerthError) -> Bool
}

extension DNSTableSource {
    /// Nobody reuses the server by itself: an empty table is the end.
    public func confirmExit() throws(BerthError) -> Bool { true }
}
