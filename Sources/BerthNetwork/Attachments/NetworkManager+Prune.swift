public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes every endpoint of `network` whose id is not in `keeping` (its veth, record,
    /// address and elements), and what crashed attaches to that network left: Berth's host
    /// veths on its bridge that no endpoint records, and map elements of unknown endpoints.
    /// Endpoints in `keeping` and other networks are untouched.
    ///
    /// For a caller that knows the full set of attachments that should exist (a runtime
    /// after a restart). An unknown network prunes nothing. Reads the links once and
    /// Berth's table once.
    public func pruneEndpoints(network name: String, keeping: Set<String>) throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                var report = GCReport()
                guard let network = try tx.network(named: name) else { return report }
                let firewall = try self.firewall
                for endpoint in try tx.endpoints(network: name) where !keeping.contains(endpoint.id) {
                    if !endpoint.ports.isEmpty {
                        try firewall.unpublish(endpoint)
                        try ConntrackCleanup.afterUnpublish(endpoint, host: host)
                    }
                    try unwire(endpoint)
                    try tx.deleteEndpoint(id: endpoint.id)
                    report.endpoints.append(endpoint.id)
                }
                let endpoints = try tx.endpoints()
                let links = try host.netlink.links()
                if let bridge = links.first(where: { $0.name == network.bridge.rawValue && $0.kind == .bridge }) {
                    let known = Set(endpoints.map(\.hostVeth.rawValue))
                    for link in links where link.kind == .veth && link.masterIndex == bridge.index
                        && link.name.hasPrefix(KernelNames.hostVethPrefix) && link.name.utf8.count == 15 && !known.contains(link.name) {
                        do throws(BerthError) {
                            try host.netlink.deleteLink(.index(link.index))
                        } catch where error.code == .notFound {}
                        report.links.append(link.name)
                    }
                }
                let knownNetworks = Set(try tx.networks().map(\.name))
                let knownEndpoints = Set(endpoints.map(\.id) + (try tx.publications().map(\.id)))
                report.firewallObjects = try firewall.removeLeftovers(knownNetworks: knownNetworks, knownEndpoints: knownEndpoints)
                return report
            }
        } catch {
            throw error.with(object: .network(name), operation: .prune)
        }
    }

    /// Removes every publication of `group` whose id is not in `keeping` (its elements and
    /// record); returns their ids.
    public func prunePublications(group: String, keeping: Set<String>) throws(BerthError) -> [String] {
        do {
            return try store.write { tx throws(BerthError) -> [String] in
                var removed: [String] = []
                for publication in try tx.publications(group: group) where !keeping.contains(publication.id) {
                    let view = try publication.firewallView()
                    try firewall.unpublish(view)
                    try ConntrackCleanup.afterUnpublish(view, host: host)
                    try tx.deletePublication(id: publication.id)
                    removed.append(publication.id)
                }
                return removed
            }
        } catch {
            throw error.with(operation: .prune)
        }
    }
}
