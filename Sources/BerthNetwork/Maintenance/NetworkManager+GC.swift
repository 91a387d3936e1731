import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes what a crash or a vanished container left behind, of this instance only:
    ///
    /// - endpoints whose kernel objects are gone — their namespace is gone, or their host
    ///   veth is (the pair dies as one) — and endpoints whose detach was interrupted, which
    ///   it finishes: their record, address and ports;
    /// - links tagged with this instance that the state does not know: veths of endpoints
    ///   it does not have (or no longer has under that name: a detach's renamed pair), and
    ///   bridges of networks it does not have;
    /// - this instance's rules and map elements of unknown networks and endpoints.
    ///
    /// Another instance's objects, and untagged ones (which could be anyone's), are left.
    /// Reads the endpoints once, the links once and Berth's nftables table once.
    public func gc() throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                let instance = try tx.instance()
                let view = try HostView(host, addresses: false)
                var report = GCReport()
                var live: [String: EndpointRecord] = [:]
                var finished: Set<String> = []
                for endpoint in try tx.endpoints() {
                    if endpoint.isDetaching {
                        try finishDetach(endpoint, tx: tx, instance: instance, links: view.links)
                        finished.insert(endpoint.id)
                    } else if !host.isAlive(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity)
                                || view.byName[endpoint.hostVeth.rawValue] == nil {
                        // The kernel destroyed the pair with the namespace, or the pair is gone
                        // and the endpoint with it. A pair something else keeps alive is a
                        // leftover link below.
                        _ = try tx.deleteEndpoint(id: endpoint.id)
                    } else {
                        live[endpoint.id] = endpoint
                        continue
                    }
                    report.endpoints.append(endpoint.id)
                }
                let networks = try tx.networks()
                let knownNetworks = Set(networks.map(\.name))
                let knownBridges = Set(networks.map(\.bridge.rawValue))
                for link in view.links {
                    // Only tags that carry this instance's id: an untagged link could be any
                    // instance's (or a store's from before instances).
                    guard let tag = KernelNames.Tag(link.alias), tag.instance == instance.id else { continue }
                    let leftover: Bool
                    switch (tag.kind, link.kind) {
                    case (.endpoint, .veth):
                        // finishDetach handed those of finished detaches to the kernel already.
                        leftover = !finished.contains(tag.owner) && live[tag.owner]?.hostVeth.rawValue != link.name
                    case (.network, .bridge):
                        leftover = !knownNetworks.contains(tag.owner) && !knownBridges.contains(link.name)
                    default:
                        leftover = false
                    }
                    guard leftover else { continue }
                    do throws(BerthError) {
                        try host.netlink.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    report.links.append(link.name)
                }
                report.firewallObjects = try firewall(instance).removeLeftovers(knownNetworks: knownNetworks, liveEndpoints: Set(live.keys))
                return report
            }
        } catch {
            throw error.with(operation: .gc)
        }
    }
}
