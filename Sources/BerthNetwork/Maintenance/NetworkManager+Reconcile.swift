public import BerthCore

extension NetworkManager {
    /// Puts back what the state calls for after an `nft flush ruleset`, a firewall reload
    /// or a reboot of the network stack: every network's bridge, address and sysctls, and
    /// Berth's whole nftables table with its guards, masquerade rules and one map element
    /// per published port — the table in one atomic batch. Returns what was missing.
    @discardableResult
    public func reconcile() throws(BerthError) -> [CheckProblem] {
        try store.write { tx throws(BerthError) -> [CheckProblem] in
            let networks = try tx.networks()
            // Publications' elements live in the same maps, so they are restored alike.
            let endpoints = try tx.endpoints() + tx.publications().map { publication throws(BerthError) in try publication.firewallView() }
            var missing = try firewallProblems(networks: networks, endpoints: endpoints)
            for network in networks {
                if try host.links().first(where: { $0.name == network.bridge.rawValue }) == nil {
                    missing.append(CheckProblem(endpoint: nil, network: network.name, object: "bridge \(network.bridge)", problem: "missing"))
                }
                _ = try ensureKernel(of: network)
            }
            try firewall.reconcile(networks: networks, endpoints: endpoints)
            return missing
        }
    }

    /// Missing rules and elements, as check problems.
    func firewallProblems(networks: [NetworkRecord], endpoints: [EndpointRecord]) throws(BerthError) -> [CheckProblem] {
        try firewall.missing(networks: networks, endpoints: endpoints).map { owner, object in
            let endpoint = owner.flatMap { $0.hasPrefix(FirewallLayout.endpointTag("")) ? String($0.dropFirst(FirewallLayout.endpointTag("").count)) : nil }
            let network = owner.flatMap { $0.hasPrefix(FirewallLayout.networkTag("")) ? String($0.dropFirst(FirewallLayout.networkTag("").count)) : nil }
            let owningNetwork = endpoint.flatMap { id in endpoints.first { $0.id == id }?.network }
            return CheckProblem(endpoint: endpoint, network: network ?? owningNetwork ?? "", object: object, problem: "missing")
        }
    }
}
