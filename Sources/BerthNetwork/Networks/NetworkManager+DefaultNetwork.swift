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
    /// the other uses it.
    @discardableResult
    public func ensureNetwork(named name: String) throws(BerthError) -> NetworkRecord {
        if name == KernelNames.defaultNetwork {
            // One whose create or removal was interrupted is finished and made anew by the create.
            if let existing = try store.read({ tx throws(BerthError) in try tx.network(named: name) }), existing.phase == .ready { return existing }
            do {
                return try createNetwork(NetworkOptions(name: name))
            } catch where error.code == .alreadyExists && error.object == .network(name) {
                // Another process created it between the read and the create.
            }
        }
        return try store.read { tx throws(BerthError) in try tx.requireNetwork(named: name) }
    }
}
