import BerthCore

/// What Berth remembers of a lab between commands, in the shared state store (see
/// `LabSchema`): enough to converge it, roll it back and take it down after a crash.
public struct LabRecord: Sendable, Hashable {
    public var name: String
    /// The file it was last brought up from: its absolute path (`LabFilePath`; a record an
    /// older Berth wrote has it as typed).
    public var source: String
    /// The spec as last converged (nil until an `up` succeeds).
    public var applied: LabSpec?
    /// The spec an `up` in progress is applying — or one that crashed: with the lab lock
    /// free, a pending spec means its `up` died.
    public var pending: LabSpec?
    /// Every node the lab may have made: recorded before `up` makes any, so nodes left by a
    /// crash are known even before they carry their tag.
    public var nodes: Set<String>
    /// The Berth networks the lab created (recorded before it creates them): `down` removes
    /// them. Networks that existed before are only used.
    public var networks: Set<String>
    /// Why the recorded specs cannot be read (a damaged row), if so: then `applied` and
    /// `pending` are nil, and only the nodes and networks are known — enough to take the lab
    /// down.
    public var unreadable: String?

    public init(name: String, source: String, applied: LabSpec? = nil, pending: LabSpec? = nil,
                nodes: Set<String> = [], networks: Set<String> = []) {
        self.name = name
        self.source = source
        self.applied = applied
        self.pending = pending
        self.nodes = nodes
        self.networks = networks
    }

    /// Up and matching its file; converging (an `up` of an edited file is running or died);
    /// incomplete (its first `up` is running or died); unreadable (its specs are damaged).
    public var status: Status {
        if unreadable != nil { return .unreadable }
        if pending == nil { return .up }
        return applied == nil ? .incomplete : .converging
    }

    public enum Status: String, Sendable, Hashable {
        case up, converging, incomplete, unreadable
    }

    /// The spec to show: as applied, else as being applied.
    public var spec: LabSpec? { applied ?? pending }
}
