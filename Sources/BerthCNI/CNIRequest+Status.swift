import BerthCore
import BerthNetwork

extension CNIRequest {
    /// STATUS (CNI 1.1): succeeds when an ADD could succeed now; code 50 with the reason
    /// when it could not (the delegated IPAM plugin is missing or says it cannot, the
    /// address pool is exhausted, the bridge cannot be made, the subnet is taken, the state
    /// cannot be read).
    func status() throws(CNIError) -> JSONValue? {
        try require(config.cniVersion.hasGCAndStatus, "1.1.0")
        if let type = config.ipamType { try ipamStatus(type) }
        let stateDirectory = try checkedStateDirectory()
        let blockers: [BerthError]
        do throws(BerthError) {
            let backend = try BerthBackend(stateDirectory: stateDirectory)
            // With a delegated IPAM plugin the subnet comes from its range at ADD: only an
            // existing network can be judged. Nor can a configuration without a main
            // plugin's keys: chained behind another plugin (STATUS has no prevResult to
            // tell), its ADD only publishes, and never makes the network. One whose create or
            // removal was interrupted is made anew by the ADD: as good as not there.
            if config.ipamType != nil || !config.isMainConfiguration, try backend.network(named: config.name)?.phase != .ready { return nil }
            blockers = try backend.blockers(networkOptions())
        } catch {
            throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD: \(error.message)", details: CNIError(error).details)
        }
        guard let first = blockers.first else { return nil }
        throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD on network \(config.name): \(first.message)",
                       details: blockers.dropFirst().map(\.message).joined(separator: "; "))
    }

    /// The delegated IPAM plugin's part of STATUS, as the reference bridge plugin's: the
    /// plugin must be in CNI_PATH (ADD runs it), and gets STATUS with the same stdin. Its
    /// 50 or 51 is passed on, any other failure is a 50 carrying its code; one that predates
    /// STATUS (`IPAMPlugin.runUnlessUnknown`) cannot say more, and counts as ready.
    private func ipamStatus(_ type: String) throws(CNIError) {
        let ipam: IPAMPlugin
        do {
            ipam = try IPAMPlugin(type: type, searchPath: env.path)
        } catch {
            throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD: \(error.message)", details: error.details)
        }
        do {
            _ = try ipam.runUnlessUnknown(.status, stdin: stdin, environment: environment.dictionary)
        } catch where error.code == .pluginNotAvailable || error.code == .pluginNotAvailableLimitedConnectivity {
            throw error
        } catch {
            throw CNIError(.pluginNotAvailable, "berth-cni cannot serve ADD: \(error.message)",
                           details: "the IPAM plugin's code \(error.code.rawValue)" + (error.details.isEmpty ? "" : ": \(error.details)"))
        }
    }
}
