public import BerthCore

/// What Berth remembers of a lab between commands: enough to converge it, roll it back and
/// take it down after a crash.
public struct LabRecord: Sendable, Hashable {
    public var name: String
    /// The file it was last brought up from.
    public var source: String
    /// The text of the file as last converged (nil until an `up` succeeds).
    public var appliedText: String?
    /// The text being applied by an `up` in progress — or by one that crashed.
    public var pendingText: String?
    /// Every node the lab may have made: recorded before `up` makes any, so nodes left by a
    /// crash are known even before they carry their tag.
    public var nodes: Set<String>

    public init(name: String, source: String, appliedText: String? = nil, pendingText: String? = nil, nodes: Set<String> = []) {
        self.name = name
        self.source = source
        self.appliedText = appliedText
        self.pendingText = pendingText
        self.nodes = nodes
    }
}

/// Where lab records live. A protocol so that labs can move onto Berth's shared state
/// store; `LabFileStore` keeps them in files until then.
public protocol LabStateStore: Sendable {
    /// Runs `body` holding the store's cross-process lock.
    func locked<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T
    func record(named name: String) throws(BerthError) -> LabRecord?
    func records() throws(BerthError) -> [LabRecord]
    /// Writes a record durably (a crash leaves the old or the new one, never half).
    func save(_ record: LabRecord) throws(BerthError)
    func remove(named name: String) throws(BerthError)
}
