public import BerthCore
import BerthNetlink
import BerthNFTables

extension NetworkManager {
    /// Puts back what the state calls for after an `nft flush ruleset`, a firewall reload
    /// or a reboot of the network stack: every network's bridge, address and sysctls, and
    /// Berth's whole nftables table with its guards, masquerade rules and one map element
    /// per published port (an endpoint's or a publication's) — the table in one atomic
    /// batch. Returns what was missing.
    ///
    /// Reads the state once, the links once and Berth's table once.
    @discardableResult
    public func reconcile() throws(BerthError) -> [CheckProblem] {
        do {
            return try store.write { tx throws(BerthError) -> [CheckProblem] in
                let networks = try tx.networks()
                // Publications' elements live in the same maps, so they are restored alike.
                let endpoints = try tx.endpoints() + tx.publications().map { publication throws(BerthError) in try publication.firewallView() }
                let firewall = try self.firewall
                var missing = firewallProblems(networks: networks, endpoints: endpoints, table: try firewall.table())
                let links = Dictionary(try host.netlink.links().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                for network in networks {
                    let bridge = links[network.bridge.rawValue]
                    if bridge == nil {
                        missing.append(CheckProblem(endpoint: nil, network: network.name, object: "bridge \(network.bridge)", problem: "missing"))
                    }
                    // The table is rebuilt whole below: no need to install each network's rules.
                    _ = try ensureKernel(of: network, bridge: bridge, installFirewall: false)
                }
                try firewall.reconcile(networks: networks, endpoints: endpoints)
                return missing
            }
        } catch {
            throw error.with(operation: .reconcile)
        }
    }

    /// Missing rules and elements of `table` (Berth's table as read), as check problems.
    func firewallProblems(networks: [NetworkRecord], endpoints: [EndpointRecord], table: Ruleset.TableContents?) -> [CheckProblem] {
        Firewall.missing(networks: networks, endpoints: endpoints, in: table).map { owner, object in
            let endpoint = owner.flatMap { $0.hasPrefix(FirewallLayout.endpointTag("")) ? String($0.dropFirst(FirewallLayout.endpointTag("").count)) : nil }
            let network = owner.flatMap { $0.hasPrefix(FirewallLayout.networkTag("")) ? String($0.dropFirst(FirewallLayout.networkTag("").count)) : nil }
            let owningNetwork = endpoint.flatMap { id in endpoints.first { $0.id == id }?.network }
            return CheckProblem(endpoint: endpoint, network: network ?? owningNetwork ?? "", object: object, problem: "missing")
        }
    }
}
