import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes what a crash or a vanished container left behind: endpoints and publications
    /// whose namespace is gone (their veth, record, address and elements), and Berth-tagged kernel objects — host
    /// veths named `vb…`, bridges tagged `berth-network NAME`, firewall rules tagged with a
    /// network — that the state does not know.
    public func gc() throws(BerthError) -> GCReport {
        try store.write { tx throws(BerthError) -> GCReport in
            var report = GCReport()
            for endpoint in try tx.endpoints() {
                let alive = (try? NetworkNamespace.open(path: endpoint.namespacePath)).map { $0.identity == endpoint.namespaceIdentity } ?? false
                if !alive {
                    try unwire(endpoint)
                    _ = try tx.deleteEndpoint(id: endpoint.id)
                    report.endpoints.append(endpoint.id)
                }
            }
            report.endpoints += try collectPublications(tx)
            let networks = try tx.networks()
            let knownVeths = Set(try tx.endpoints().map(\.hostVeth.rawValue))
            let knownNetworks = Set(networks.map(\.name))
            let knownBridges = Set(networks.map(\.bridge.rawValue))
            for link in try host.links() {
                let leftoverVeth = link.kind == .veth && link.name.hasPrefix(KernelNames.hostVethPrefix)
                    && link.name.utf8.count == 15 && !knownVeths.contains(link.name)
                let leftoverBridge = link.kind == .bridge && !knownBridges.contains(link.name)
                    && KernelNames.networkName(fromAlias: link.alias).map { !knownNetworks.contains($0) } ?? false
                guard leftoverVeth || leftoverBridge else { continue }
                do throws(BerthError) {
                    try host.deleteLink(.index(link.index))
                } catch where error.code == .notFound {}
                report.links.append(link.name)
            }
            report.firewallObjects = try firewall.removeLeftovers(knownNetworks: knownNetworks, knownEndpoints: Set(try tx.endpoints().map(\.id) + tx.publications().map(\.id)))
            return report
        }
    }
}
