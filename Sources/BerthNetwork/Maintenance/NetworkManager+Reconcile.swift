public import BerthCore
import BerthNetlink
import BerthNFTables

extension NetworkManager {
    /// Puts back the kernel side the state calls for, after a bridge was deleted by hand,
    /// an `nft flush ruleset`, a firewall reload or a restart of the network stack:
    ///
    /// - every network's bridge: made again if Berth made it (with its fixed MAC and tag),
    ///   its MAC and tag corrected, the gateway address added, set up; sysctls;
    /// - IPv4 and IPv6 forwarding, when turned off since (a warning when it turns IPv4
    ///   forwarding on; another firewall's forward chain that drops by policy is a warning
    ///   too, as Berth never changes it);
    /// - every endpoint's host veth (when it exists): enslaved to its bridge with hairpin
    ///   on, up, tagged;
    /// - this instance's rules and map elements (of endpoints and publications) in Berth's
    ///   shared table, and the table's skeleton and static rules when missing; this
    ///   instance's rules of a network that the layout no longer calls for (an adopted
    ///   network's subnet guard, from an earlier Berth) deleted — in one
    ///   atomic batch, touching no other instance's objects. Endpoints whose veth is gone,
    ///   and publications whose namespace is gone, get no elements.
    ///
    /// Returns what it restored, what it tagged, and what it cannot restore (an endpoint
    /// whose veth pair is gone, an adopted bridge that is gone, an endpoint row that cannot
    /// be decoded, …) with the repair that can.
    ///
    /// Reads the state once, the links and addresses once and Berth's table once.
    @discardableResult
    public func reconcile() throws(BerthError) -> ReconcileReport {
        // A resolver started here is recorded by this transaction: stopped if it fails.
        var started: ResolverProcess?
        do {
            let (report, resolver) = try store.write { tx throws(BerthError) -> (ReconcileReport, ResolverProcess?) in
                let instance = try tx.instance()
                let recorded = try tx.networks()
                // Never restored: a network whose create or removal was interrupted is gc's to finish.
                let networks = recorded.filter { $0.phase == .ready }
                // A row that cannot be decoded (changed outside Berth) gets no repair and is
                // reported; its elements are not the plan's (it plans only what it knows).
                let (endpoints, unreadable) = try tx.endpointsLeniently()
                let publications = try tx.publications()
                let view = try HostView(host, addresses: true, ipv6: networks.contains(where: \.hasIPv6))
                var report = ReconcileReport()
                report.remaining += recorded.filter { $0.phase != .ready }.map(CheckProblem.interrupted)
                report.remaining += unreadable.map(CheckProblem.unreadable)
                var bridges: [String: Int32] = [:]
                for network in networks {
                    let problems = try bridgeProblems(network, view: view, instance: instance)
                    if problems.contains(where: { $0.repair != .reconcile }) {
                        report.remaining += problems
                        continue
                    }
                    let existing = view.byName[network.bridge.rawValue]
                    if let existing, problems.isEmpty {
                        bridges[network.name] = existing.index
                        continue
                    }
                    let gateway = try network.ipv4GatewayCIDR()
                    let gatewayPresent = gateway.flatMap { gateway in existing.map { view.has(gateway, on: $0.index) } }
                    // The table is planned whole below: no need to install each network's rules.
                    bridges[network.name] = try prepareBridge(network, instance: instance, existing: existing,
                                                              gatewayPresent: gatewayPresent, installFirewall: false,
                                                              warnings: &report.warnings).index
                    if network.bridgeAdopted, !network.gatewayAdded, gatewayPresent == false {
                        // Berth put it back, so removing the network takes it away again.
                        try tx.setGatewayAdded(network: network.name)
                    }
                    report.restored += problems
                }
                // Forwarding turned off since (by hand, a sysctl reload): on again.
                report.restored += try restoreForwarding(networks, warnings: &report.warnings)
                let networksByName = Dictionary(networks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                for endpoint in endpoints {
                    guard let network = networksByName[endpoint.network] else { continue }
                    let bridge = bridges[network.name]
                    // A bridge that could not be restored is reported already, for its ports too.
                    let problems = vethProblems(endpoint, network: network, view: view, instance: instance, bridgeRestorable: bridge != nil)
                    guard let bridge else {
                        // What reconcile would fix on its port waits for the bridge.
                        report.remaining += problems.filter { $0.repair != .reconcile }
                        continue
                    }
                    report.remaining += problems.filter { $0.repair != .reconcile }
                    let fixable = problems.filter { $0.repair == .reconcile }
                    guard !fixable.isEmpty, let veth = view.byName[endpoint.hostVeth.rawValue] else { continue }
                    try replug(veth, of: endpoint, bridge: bridge, instance: instance)
                    report.restored += fixable
                }
                let published = try publishable(publications)
                report.remaining += published.gone
                let owners = endpoints + published.views
                let firewall = try self.firewall(instance)
                let publishing = plugged(endpoints, view: view) + published.views
                // Both tables' repairs in one batch: all of them or none, guarded by the
                // generation read before the tables, and planned again when another process
                // committed in between (a static rule it put back would be added twice, a
                // rule replaced by a handle it reused would be another's).
                var plans: [Firewall.Plan] = []
                try firewall.backend.applyGuarded { () throws(BerthError) in
                    let generation = try firewall.backend.generation()
                    plans = try firewallPlans(firewall, networks: networks, endpoints: publishing)
                    var repair = Transaction()
                    for plan in plans { repair.append(contentsOf: plan.transaction) }
                    return (generation, repair)
                }
                report.restored += self.problems(plans.flatMap(\.missing), endpoints: owners, problem: "missing")
                // Deleted: this instance's rules the layout no longer calls for.
                report.restored += self.problems(plans.flatMap(\.stale), endpoints: owners, problem: "stale")
                report.retagged += self.problems(plans.flatMap(\.retagged), endpoints: owners, problem: "untagged")
                report.remaining += self.problems(plans.flatMap(\.conflicts), endpoints: owners, problem: "conflict").map { problem in
                    var problem = problem
                    problem.repair = .reattach
                    return problem
                }
                report.remaining += foreignProblems(plans)
                // Not Berth's to repair: said, as `check` says it.
                report.warnings += try foreignForwardDrops(networks).map { HostWarning(.forwardDropped($0)) }
                // Last, so that only the COMMIT can fail after a resolver was started.
                if let problem = try resolverProblem(tx) { report.restored.append(problem) }
                let revived = try reviveResolver(tx)
                if revived.started { started = revived.running }
                return (report, revived.running)
            }
            // Always, not only to one started or recorded here: a reload lost to a crash
            // between an attach's (or detach's) COMMIT and its signal is made up for.
            reloadResolver(resolver)
            return report
        } catch {
            if let started { stopResolver(started) }
            throw error.with(operation: .reconcile)
        }
    }

    /// Puts an endpoint's host veth back on its bridge with hairpin on, up and tagged, in
    /// one sendmsg (setting the master again is harmless when it is on the bridge already).
    private func replug(_ veth: Link, of endpoint: EndpointRecord, bridge: Int32, instance: StateInstance) throws(BerthError) {
        try host.netlink.apply { changes throws(BerthError) in
            try changes.setMaster(.index(veth.index), to: .index(bridge))
            try changes.setHairpin(.index(veth.index), true)
            if !veth.isUp { try changes.setUp(.index(veth.index)) }
            try changes.setAlias(.index(veth.index), to: KernelNames.endpointAlias(endpoint.id, instance: instance.id))
        }
    }
}
