import BerthCore
import BerthNFTables

/// What outside Berth's own objects keeps its networks from forwarding: the forwarding
/// sysctls turned off again, and another firewall's forward chain that drops by policy.
/// `check` reports both; `reconcile` turns forwarding back on and warns of the chains;
/// `createNetwork` warns of both.
extension NetworkManager {
    /// `net.ipv4.ip_forward` (with a non-internal IPv4 network) and
    /// `net.ipv6.conf.all.forwarding` (with a non-internal IPv6 network) when not 1: with
    /// them off the host forwards nothing to or from the containers — no published port
    /// answers another host, no container reaches past the host. `reconcile` turns them on.
    func forwardingProblems(_ networks: [NetworkRecord]) throws(BerthError) -> [CheckProblem] {
        var problems: [CheckProblem] = []
        for (key, needed) in Self.forwardingKeys(networks) where needed {
            let value = try host.sysctl(key)
            guard value != "1" else { continue }
            problems.append(CheckProblem(endpoint: nil, network: "", object: "sysctl \(key.replacingSlashes)",
                                         problem: "\(value): the host forwards nothing to or from Berth's networks"))
        }
        return problems
    }

    /// Turns the forwarding `forwardingProblems` reports off back on; returns the problems
    /// it repaired and adds what turning it on changed for the host to `warnings`.
    func restoreForwarding(_ networks: [NetworkRecord], warnings: inout [HostWarning]) throws(BerthError) -> [CheckProblem] {
        let problems = try forwardingProblems(networks)
        guard !problems.isEmpty else { return [] }
        let keys = Self.forwardingKeys(networks)
        if keys[0].needed, try enableIPv4Forwarding() != nil { warnings.append(HostWarning(.ipv4ForwardingEnabled)) }
        if keys[1].needed { warnings += try enableIPv6Forwarding() }
        return problems
    }

    /// Turns `net.ipv4.ip_forward` on; returns the value it had when it was not on (Berth
    /// is the one that turned the host into a router, which the caller warns of, and which
    /// a failing create takes back), nil when it was on already (one read).
    func enableIPv4Forwarding() throws(BerthError) -> String? {
        let was = try host.sysctl(Self.ipv4ForwardingKey)
        guard was != "1" else { return nil }
        return try host.setSysctl(Self.ipv4ForwardingKey, to: "1") ? was : nil
    }

    /// Whether a bridge tagged for another instance's network exists, or Berth's tables hold
    /// a network rule of another instance: a network that may need the forwarding a failing
    /// create turned on (another state directory's, created
    /// meanwhile, found it on and said nothing), so the undo leaves it on. This instance's
    /// own networks were made under the same lock: one that needed forwarding had it on
    /// already, and the create changed nothing.
    func otherInstancesHaveNetworks(_ instance: StateInstance) throws(BerthError) -> Bool {
        // A bridge comes before its rules: another state directory's create that has made
        // its bridge and read forwarding as on, but not yet installed its rules, is one too.
        for link in try host.netlink.links() where link.kind == .bridge {
            if let tag = KernelNames.Tag(link.alias), tag.kind == .network, tag.instance != instance.id { return true }
        }
        let firewall = try self.firewall(instance)
        for table in [try firewall.table(), try firewall.table6()] {
            for chain in table?.chains ?? [] {
                for rule in chain.rules {
                    guard let tag = KernelNames.Tag(rule.comment), tag.kind == .network else { continue }
                    if tag.instance != instance.id { return true }
                }
            }
        }
        return false
    }

    static let ipv4ForwardingKey = "net/ipv4/ip_forward"
    static let ipv6ForwardingKey = "net/ipv6/conf/all/forwarding"

    private static func forwardingKeys(_ networks: [NetworkRecord]) -> [(key: String, needed: Bool)] {
        let routed = networks.filter { !$0.isInternal }
        return [(ipv4ForwardingKey, routed.contains(where: \.hasIPv4)),
                (ipv6ForwardingKey, routed.contains(where: \.hasIPv6))]
    }

    /// The base chains of other tables (IPv4, IPv6 and inet) on the forward hook whose
    /// policy is drop, each with the bridges of `networks` (non-internal, of the chain's
    /// families) that no rule of its table names as input or output interface — a bridge
    /// named there is taken as allowed by its owner. Reads one chain dump, and a table's
    /// rules only when it has such a chain; changes nothing.
    ///
    /// Unseen: iptables-legacy's chains (not nftables), and a chain that drops or rejects
    /// by a last rule rather than its policy (firewalld's `filter_FORWARD` rejects what no
    /// zone or policy takes, by a rule).
    func foreignForwardDrops(_ networks: [NetworkRecord]) throws(BerthError) -> [ForwardDrop] {
        let routed = networks.filter { !$0.isInternal }
        guard !routed.isEmpty else { return [] }
        let backend = try host.nftables
        let chains = try backend.listChains()
        let own = [FirewallLayout.table, IPv6FirewallLayout.table]
        var drops: [ForwardDrop] = []
        for chain in chains {
            guard let base = chain.base, base.hook == .forward, base.policy == .drop,
                  !own.contains(where: { $0.family == chain.family && $0.name == chain.table }) else { continue }
            let concerned = routed.filter { network in
                switch chain.family {
                case .ip: network.hasIPv4
                case .ip6: network.hasIPv6
                case .inet: true
                }
            }
            guard !concerned.isEmpty else { continue }
            let named = try interfacesNamed(in: Table(chain.family, chain.table), backend: backend)
            let bridges = concerned.map(\.bridge.rawValue).filter { !named.contains($0) }
            guard !bridges.isEmpty else { continue }
            let siblings = chains.filter { $0.family == chain.family && $0.table == chain.table }.map(\.name)
            drops.append(ForwardDrop(family: chain.family.rawValue, table: chain.table, chain: chain.name,
                                     owner: Self.owner(table: chain.table, family: chain.family, chains: siblings), bridges: bridges))
        }
        return drops
    }

    /// The interface names the rules of `table` match (`iifname`/`oifname`, not negated).
    private func interfacesNamed(in table: Table, backend: any NFTablesBackend) throws(BerthError) -> Set<String> {
        guard let contents = try backend.list(table: table) else { return [] }
        var names: Set<String> = []
        for chain in contents.chains {
            for rule in chain.rules {
                for statement in rule.statements {
                    switch statement {
                    case .iifname(let name, negated: false), .oifname(let name, negated: false): names.insert(name)
                    default: break
                    }
                }
            }
        }
        return names
    }

    private static func owner(table: String, family: Family, chains: [String]) -> ForwardDrop.Owner {
        if table == "firewalld" { return .firewalld }
        guard table == "filter", family != .inet else { return .nftables }
        if chains.contains("DOCKER-USER") { return .docker }
        if chains.contains(where: { $0.hasPrefix("ufw-") || $0.hasPrefix("ufw6-") }) { return .ufw }
        return .iptables
    }
}

extension String {
    /// A sysctl path as `sysctl` names it: `net.ipv4.ip_forward`.
    fileprivate var replacingSlashes: String { split(separator: "/").joined(separator: ".") }
}
