public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Checks that every recorded object exists in the kernel as the state says: each
    /// network's bridge (MAC, tag, gateway address, up), and for each endpoint (or only
    /// `id`) its veth on the bridge, its namespace, and inside it the interface, address
    /// and default route; then this instance's rules and elements in Berth's table (with
    /// those of its publications, unless `id` narrows the check); IPv4 and IPv6
    /// forwarding on; no other firewall's forward chain dropping by policy what Berth's
    /// bridges forward; no host socket bound on a published port since (it gets nothing).
    /// Each problem names the repair that removes it. `id` names an endpoint exactly, or
    /// with `acceptingShortID` also by its short form (as `endpoint(_:acceptingShortID:)`).
    public func check(id: String? = nil, acceptingShortID: Bool = false) throws(BerthError) -> [CheckProblem] {
        do {
            return try checkKernel(id: id, acceptingShortID: acceptingShortID)
        } catch {
            throw error.with(operation: .check)
        }
    }

    private func checkKernel(id: String?, acceptingShortID: Bool) throws(BerthError) -> [CheckProblem] {
        let snapshot = { (tx: StateTransaction) throws(BerthError) in
            // A row that cannot be decoded is one problem of its own, not the end of the check.
            var endpoints: [EndpointRecord], unreadable: [UnreadableEndpoint] = []
            if let id {
                endpoints = [try tx.endpoint(id, acceptingShortID: acceptingShortID)]
            } else {
                (endpoints, unreadable) = try tx.endpointsLeniently()
            }
            // Publications share the maps: each is checked with everything, none with one endpoint.
            return (try tx.instance(), try tx.networks(), endpoints, id == nil ? try tx.publications() : [], unreadable)
        }
        var (instance, recorded, endpoints, publications, unreadable) = try store.read(snapshot)
        // A record marked as begun is an interrupted operation's only if none is under way:
        // the state is read without the lock, and an attach, detach, create or removal in
        // progress has its mark committed too. Read again holding the lock, if it is free
        // (never waiting for it); held, the marks are reported as in progress.
        var underWay = false
        if endpoints.contains(where: \.isDetaching) || (id == nil && recorded.contains { $0.phase != .ready }) {
            if let settled = try store.readIfIdle(snapshot) {
                (instance, recorded, endpoints, publications, unreadable) = settled
            } else {
                underWay = true
            }
        }
        // A network whose create or removal was interrupted is that one problem: its bridge
        // and rules may be half there, and gc finishes it.
        var problems: [CheckProblem] = id == nil
            ? recorded.filter { $0.phase != .ready }.map { underWay ? CheckProblem.inProgress($0) : CheckProblem.interrupted($0) }
            : []
        problems += unreadable.map(CheckProblem.unreadable)
        let networks = recorded.filter { $0.phase == .ready }
        let view = try HostView(host, addresses: true, ipv6: networks.contains(where: \.hasIPv6))
        let inScope = Set(endpoints.map(\.network))
        let scopedNetworks = networks.filter { id == nil || inScope.contains($0.name) }
        // A bridge reconcile cannot restore takes its ports' "not on bridge" with it.
        var unrestorable: Set<String> = []
        for network in scopedNetworks {
            let found = try bridgeProblems(network, view: view, instance: instance)
            if found.contains(where: { $0.repair != .reconcile }) { unrestorable.insert(network.name) }
            problems += found
        }
        let networksByName = Dictionary(networks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for endpoint in endpoints {
            guard let network = networksByName[endpoint.network] else { continue }
            if endpoint.isDetaching, underWay {
                problems.append(.inProgress(endpoint))
                continue
            }
            problems += vethProblems(endpoint, network: network, view: view, instance: instance,
                                     bridgeRestorable: !unrestorable.contains(network.name))
            if !endpoint.isDetaching {
                problems += insideProblems(endpoint, network: network, vethPresent: view.byName[endpoint.hostVeth.rawValue] != nil)
            }
        }
        let published = try publishable(publications)
        problems += published.gone
        let owners = endpoints + published.views
        let firewall = try self.firewall(instance)
        let publishing = plugged(endpoints, view: view) + published.views
        let plans = try firewallPlans(firewall, networks: scopedNetworks, endpoints: publishing)
        problems += self.problems(plans.flatMap(\.missing), endpoints: owners, problem: "missing")
        // Called for by an earlier Berth only (an adopted network's subnet guard): reconcile deletes it.
        problems += self.problems(plans.flatMap(\.stale), endpoints: owners, problem: "stale")
        problems += self.problems(plans.flatMap(\.conflicts), endpoints: owners, problem: "conflict").map { problem in
            var problem = problem
            problem.repair = .reattach
            return problem
        }
        problems += foreignProblems(plans)
        if id == nil, let problem = try store.read({ tx throws(BerthError) in try resolverProblem(tx) }) { problems.append(problem) }
        if id == nil { problems += resolverUnboundProblems() }
        problems += try shadowedListenerProblems(endpoints)
        problems += try forwardingProblems(scopedNetworks)
        problems += try foreignForwardDrops(scopedNetworks).map { drop in
            CheckProblem(endpoint: nil, network: "", object: "chain \(drop.chain) of table \(drop.family) \(drop.table)",
                         problem: "policy drop on the forward hook: drops what Berth forwards through \(drop.bridges.joined(separator: ", ")) "
                             + "(ports published to other hosts, all the containers send out) unless a rule of that table accepts it",
                         repair: .allowInForeignFirewall(drop))
        }
        return problems
    }

    /// The gateway addresses the running resolver says it cannot listen on
    /// (`ResolverLaunch.unboundReportName`: another process holds the port, or the address
    /// cannot be bound): lookups there go unanswered while it keeps trying. Reads one file
    /// that does not exist when all is well; only then asks whether the resolver runs.
    func resolverUnboundProblems() -> [CheckProblem] {
        let path = store.directory + "/" + ResolverLaunch.unboundReportName
        guard let text = ProcFile.read(path), !text.isEmpty,
              host.kernel.resolverHolding(stateDirectory: store.directory) != nil else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2 else { return nil }
            return CheckProblem(endpoint: nil, network: String(fields[1]), object: "resolver address \(fields[0]) port 53",
                                problem: "the resolver cannot listen there (another process holds the port, or the address cannot be bound): "
                                    + "the network's lookups go unanswered; it tries again by itself",
                                repair: .freeResolverAddress)
        }
    }

    /// The resolver's problem, if it has one: needed (an endpoint on a network with DNS on)
    /// and never recorded, or recorded and no longer running — `reconcile` and the next
    /// attach start it again — or running without a record, which they record.
    func resolverProblem(_ tx: StateTransaction) throws(BerthError) -> CheckProblem? {
        let recorded = try tx.resolver()
        if let recorded, host.kernel.isRunning(recorded) { return nil }
        // Its starter was killed before its COMMIT: it runs, holding the state's lock.
        if let unrecorded = host.kernel.resolverHolding(stateDirectory: store.directory) {
            return CheckProblem(endpoint: nil, network: "", object: "resolver \(unrecorded)", problem: "running without a record")
        }
        // One that ended with nothing to serve (`--exit-when-empty`) is no problem.
        guard try tx.anyDNSEndpoint() else { return nil }
        if let recorded {
            return CheckProblem(endpoint: nil, network: "", object: "resolver \(recorded)", problem: "not running (stale)")
        }
        return CheckProblem(endpoint: nil, network: "", object: "resolver \(ResolverLaunch.executableName)", problem: "missing")
    }
}
