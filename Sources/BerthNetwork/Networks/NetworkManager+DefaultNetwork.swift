public import BerthCore

extension NetworkManager {
    /// The network `name`, made first if it is the default network
    /// (`KernelNames.defaultNetwork`, bridge `berth0`) and does not exist yet — Docker makes
    /// its default bridge the same way, on first use. Any other name must have been created:
    /// a missing one is a `.notFound` error about `.network(name)`, `parameter` "network",
    /// remedy `.listExisting(.network)`, as `attach` reports it.
    ///
    /// For front ends that attach without a prior `createNetwork` (`Container.run`, the OCI
    /// hook). Two processes making the default network at once are fine: one creates it,
    /// the other uses it. What making it changed for the host (a bridge, forwarding turned
    /// on, another firewall's forward chain that drops its traffic) is added to `warnings`,
    /// as `createNetwork` reports it, for the caller to tell its user.
    @discardableResult
    public func ensureNetwork(named name: String, warnings: inout [HostWarning]) throws(BerthError) -> NetworkRecord {
        if name == KernelNames.defaultNetwork {
            return try ensureNetwork(NetworkOptions(name: name), warnings: &warnings)
        }
        return try store.read { tx throws(BerthError) in try tx.requireNetwork(named: name) }
    }

    /// `ensureNetwork(named:warnings:)` for a caller that has no one to tell what making the
    /// default network changed for the host.
    @discardableResult
    public func ensureNetwork(named name: String) throws(BerthError) -> NetworkRecord {
        var warnings: [HostWarning] = []
        return try ensureNetwork(named: name, warnings: &warnings)
    }

    /// The network `options.name`: the recorded one when it is ready, else made as `options`
    /// say (a create whose create or removal was interrupted is finished by the create and
    /// made anew), with what that changed for the host in `warnings`. Two processes at once
    /// are fine: one creates it, the other — its create waiting for the state lock, then
    /// finding the network made — uses it. A recorded network is returned as it is: whether it
    /// matches `options` is the caller's to judge.
    public func ensureNetwork(_ options: NetworkOptions, warnings: inout [HostWarning]) throws(BerthError) -> NetworkRecord {
        if let existing = try store.read({ tx throws(BerthError) in try tx.network(named: options.name) }), existing.phase == .ready { return existing }
        do {
            return try createNetwork(options, warnings: &warnings)
        } catch where error.code == .alreadyExists && error.object == .network(options.name) {
            return try store.read { tx throws(BerthError) in try tx.requireNetwork(named: options.name) }
        }
    }
}
