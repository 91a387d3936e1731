public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes what a crash or a vanished container left behind: endpoints and publications
    /// whose namespace is gone (their record, address and ports), and Berth-tagged kernel
    /// objects — host veths named `vb…`, bridges tagged `berth-network NAME`, firewall rules
    /// and map elements tagged with a network, endpoint or publication — that the state
    /// does not know.
    ///
    /// Reads the endpoints and publications once, the links once and Berth's nftables
    /// table once.
    public func gc() throws(BerthError) -> GCReport {
        try collectGarbage(.all)
    }

    /// `gc` narrowed to endpoint `id`: for a front end told that one container is gone,
    /// whose attach may have been killed before it committed (the state then records
    /// nothing, so `detach(id:)` has nothing to undo). Removes the veth named for `id` and
    /// the map elements tagged with `id` when the state does not know `id`, and forgets the
    /// endpoint when the state records it but its namespace is gone. A recorded endpoint
    /// whose namespace lives is whole: nothing is removed (detaching it is `detach(id:)`'s
    /// work). Nothing of another endpoint, publication or network is touched.
    ///
    /// Runs under the state lock like every attach, so an attach of `id` still going on is
    /// waited for, never cut short. An id `attach` refuses has nothing left: the report is
    /// empty. Reads the links once and Berth's table once.
    public func gc(endpoint id: String) throws(BerthError) -> GCReport {
        guard (try? AttachOptions.validate(id: id)) != nil else { return GCReport() }
        do {
            return try collectGarbage(.endpoint(id))
        } catch {
            throw error.with(object: .endpoint(id))
        }
    }

    private func collectGarbage(_ scope: GarbageScope) throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                var report = GCReport()
                var alive: [EndpointRecord] = []
                for endpoint in try tx.endpoints() {
                    if !scope.covers(endpoint: endpoint.id) || host.isAlive(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
                        alive.append(endpoint)
                    } else {
                        // The kernel destroyed the veth pair with the namespace (see `unwire`);
                        // a pair something else keeps alive is a leftover veth below.
                        _ = try tx.deleteEndpoint(id: endpoint.id)
                        report.endpoints.append(endpoint.id)
                    }
                }
                // Publications have ids of their own: a narrowed gc leaves them all alone.
                let publications = if scope.coversAll { try collectPublications(tx) } else { (removed: [String](), kept: try tx.publications().map(\.id)) }
                report.endpoints += publications.removed
                let networks = try tx.networks()
                let knownVeths = Set(alive.map(\.hostVeth.rawValue))
                let knownNetworks = Set(networks.map(\.name))
                let knownBridges = Set(networks.map(\.bridge.rawValue))
                let vethOfScope = try scope.hostVeth
                for link in try host.netlink.links() {
                    let leftoverVeth = link.kind == .veth && link.name.hasPrefix(KernelNames.hostVethPrefix)
                        && link.name.utf8.count == 15 && !knownVeths.contains(link.name)
                        && (vethOfScope == nil || link.name == vethOfScope)
                    let leftoverBridge = scope.coversAll && link.kind == .bridge && !knownBridges.contains(link.name)
                        && KernelNames.networkName(fromAlias: link.alias).map { !knownNetworks.contains($0) } ?? false
                    guard leftoverVeth || leftoverBridge else { continue }
                    do throws(BerthError) {
                        try host.netlink.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    report.links.append(link.name)
                }
                report.firewallObjects = try firewall.removeLeftovers(knownNetworks: knownNetworks,
                                                                      knownEndpoints: Set(alive.map(\.id) + publications.kept), scope: scope)
                return report
            }
        } catch {
            throw error.with(operation: .gc)
        }
    }
}
