/// What `LabManager.up` did (or, with `dryRun`, would do).
public struct LabUpOutcome: Sendable, Hashable {
    /// The changes, in order (the plan, with `dryRun`).
    public var actions: [LabAction]
    /// Namespaces of nodes the file no longer has that stay, because they carry no tag of
    /// the lab: someone made a namespace under the node's name (`ip netns del` and `add`),
    /// and the lab deletes only its own. The lab forgets the node.
    public var leftAlone: [String]

    public init(actions: [LabAction], leftAlone: [String] = []) {
        self.actions = actions
        self.leftAlone = leftAlone
    }
}
