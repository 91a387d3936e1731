public import BerthCore

extension NetworkManager {
    /// Makes sure network `name` exists before an attach to it. The default network
    /// (`KernelNames.defaultNetwork`, bridge `berth0`) is created on first use, as Docker's
    /// default bridge is; any other name must have been created. Two callers creating the
    /// default network at once are fine: one wins, the other uses it.
    ///
    /// Shared by the front ends that attach without a prior `createNetwork` (`berth run`,
    /// the OCI hook). A missing network is a `.notFound` error about `.network(name)` with
    /// the remedy `.listExisting(.network)`.
    public func ensureNetwork(named name: String) throws(BerthError) {
        if try store.read({ tx throws(BerthError) in try tx.network(named: name) != nil }) { return }
        guard name == KernelNames.defaultNetwork else {
            throw BerthError(.notFound, "no network named \"\(name)\"", object: .network(name), operation: .attach,
                             parameter: "network", remedy: .listExisting(.network))
        }
        do throws(BerthError) {
            try createNetwork(NetworkOptions(name: name, bridge: KernelNames.defaultBridge(network: name, id: "")))
        } catch where error.code == .alreadyExists {
            // Another process created it first.
        }
    }
}
