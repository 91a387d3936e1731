import BerthCore
import BerthNetwork

extension CNIRequest {
    /// STATUS (CNI 1.1): succeeds when an ADD could succeed now; code 50 with the reason
    /// when it could not (the address pool is exhausted, the bridge cannot be made, the
    /// subnet is taken, the state cannot be read).
    func status() throws(CNIError) -> JSONValue? {
        try require(config.cniVersion.hasGCAndStatus, "1.1.0")
        let blockers: [BerthError]
        do throws(BerthError) {
            let backend = try BerthBackend(stateDirectory: config.stateDir)
            // With a delegated IPAM plugin the subnet comes from its range at ADD: only an
            // existing network can be judged.
            if config.ipamType != nil, try backend.network(named: config.name) == nil { return nil }
            blockers = try backend.blockers(networkOptions())
        } catch {
            throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD: \(error.message)", details: CNIError(error).details)
        }
        guard let first = blockers.first else { return nil }
        throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD on network \(config.name): \(first.message)",
                       details: blockers.dropFirst().map(\.message).joined(separator: "; "))
    }
}
