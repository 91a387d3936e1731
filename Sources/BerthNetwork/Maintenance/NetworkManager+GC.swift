import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes what a crash or a vanished container left behind: endpoints whose namespace
    /// is gone (their record, address and ports), and Berth-tagged kernel objects — host
    /// veths named `vb…`, bridges tagged `berth-network NAME`, firewall rules and map
    /// elements tagged with a network or endpoint — that the state does not know.
    ///
    /// Reads the endpoints once, the links once and Berth's nftables table once.
    public func gc() throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                var report = GCReport()
                var alive: [EndpointRecord] = []
                for endpoint in try tx.endpoints() {
                    if host.isAlive(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
                        alive.append(endpoint)
                    } else {
                        // The kernel destroyed the veth pair with the namespace (see `unwire`);
                        // a pair something else keeps alive is a leftover veth below.
                        _ = try tx.deleteEndpoint(id: endpoint.id)
                        report.endpoints.append(endpoint.id)
                    }
                }
                let networks = try tx.networks()
                let knownVeths = Set(alive.map(\.hostVeth.rawValue))
                let knownNetworks = Set(networks.map(\.name))
                let knownBridges = Set(networks.map(\.bridge.rawValue))
                for link in try host.netlink.links() {
                    let leftoverVeth = link.kind == .veth && link.name.hasPrefix(KernelNames.hostVethPrefix)
                        && link.name.utf8.count == 15 && !knownVeths.contains(link.name)
                    let leftoverBridge = link.kind == .bridge && !knownBridges.contains(link.name)
                        && KernelNames.networkName(fromAlias: link.alias).map { !knownNetworks.contains($0) } ?? false
                    guard leftoverVeth || leftoverBridge else { continue }
                    do throws(BerthError) {
                        try host.netlink.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    report.links.append(link.name)
                }
                report.firewallObjects = try firewall.removeLeftovers(knownNetworks: knownNetworks, knownEndpoints: Set(alive.map(\.id)))
                return report
            }
        } catch {
            throw error.with(operation: .gc)
        }
    }
}
