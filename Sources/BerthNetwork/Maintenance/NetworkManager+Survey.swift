import BerthCore
import BerthNamespace
import BerthNetlink

/// The host namespace's links (and, when asked, IPv4 addresses — and IPv6 ones when a
/// network is dual-stack) as read once by `check`, `reconcile` or `gc`.
struct HostView {
    var links: [Link]
    var byName: [String: Link]
    var addresses: [Address]

    init(_ host: HostHandle, addresses readAddresses: Bool, ipv6: Bool = false) throws(BerthError) {
        links = try host.netlink.links()
        byName = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        addresses = readAddresses ? try host.netlink.addresses(family: .ipv4) : []
        if readAddresses, ipv6 { addresses += try host.netlink.addresses(family: .ipv6) }
    }

    /// Whether the link with index `index` holds `cidr`.
    func has(_ cidr: CIDR, on index: Int32) -> Bool {
        addresses.contains { $0.linkIndex == index && $0.cidr == cidr }
    }
}

// What `check` reports and `reconcile` restores, worked out the same way for both, so a
// problem `check` says `reconcile` repairs is one `reconcile` does repair.
extension NetworkManager {
    /// A network's bridge: there, a bridge, up, with the gateway address and — when Berth
    /// made it — its MAC and its tag.
    func bridgeProblems(_ network: NetworkRecord, view: HostView, instance: StateInstance) throws(BerthError) -> [CheckProblem] {
        func problem(_ object: String, _ what: String, _ repair: CheckProblem.Repair = .reconcile) -> CheckProblem {
            CheckProblem(endpoint: nil, network: network.name, object: object, problem: what, repair: repair)
        }
        let name = "bridge \(network.bridge)"
        guard let bridge = view.byName[network.bridge.rawValue] else {
            if network.bridgeAdopted { return [problem(name, "missing (it was adopted, not made by Berth)", .recreateBridge)] }
            return [problem(name, "missing")]
        }
        guard bridge.kind == .bridge else {
            return [problem(name, "held by a link of another kind (\(bridge.kind))", .removeLink)]
        }
        guard isOwnBridge(bridge, for: network, instance: instance) else {
            return [problem(name, "held by a bridge Berth did not make for this network (\(Self.owner(of: bridge)))", .bridgeNameTaken)]
        }
        var problems: [CheckProblem] = []
        if !network.bridgeAdopted {
            if let mac = network.bridgeMAC, bridge.mac != mac {
                problems.append(problem(name, "MAC \(bridge.mac.map(\.description) ?? "none"), not its fixed \(mac)"))
            }
            if !isTagged(bridge, by: network, instance: instance) {
                problems.append(problem(name, "not tagged \"\(KernelNames.networkAlias(network.name, instance: instance.id))\""))
            }
        }
        if let gateway = try network.ipv4GatewayCIDR(), !view.has(gateway, on: bridge.index) {
            problems.append(problem("address \(gateway) on \(network.bridge)", "missing"))
        }
        // Setting a bridge down drops its IPv6 addresses, and up does not bring them back.
        if let gateway6 = try network.ipv6GatewayCIDR(), !view.has(gateway6, on: bridge.index) {
            problems.append(problem("address \(gateway6) on \(network.bridge)", "missing"))
        }
        if !bridge.isUp { problems.append(problem(name, "down")) }
        return problems
    }

    /// An endpoint's host end: there (else the endpoint cannot be restored), on its
    /// network's bridge (unless `bridgeRestorable` is false: the bridge's own problem says
    /// it all), up and tagged. An endpoint marked as detaching is reported as an interrupted attach or detach.
    func vethProblems(_ endpoint: EndpointRecord, network: NetworkRecord, view: HostView, instance: StateInstance,
                      bridgeRestorable: Bool = true) -> [CheckProblem] {
        func problem(_ object: String, _ what: String, _ repair: CheckProblem.Repair = .reconcile) -> CheckProblem {
            CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: object, problem: what, repair: repair)
        }
        if endpoint.isDetaching {
            return [.interrupted(endpoint)]
        }
        let name = "veth \(endpoint.hostVeth)"
        guard let veth = view.byName[endpoint.hostVeth.rawValue] else {
            return [problem(name, "missing", .collectGarbage)]
        }
        var problems: [CheckProblem] = []
        let bridge = view.byName[network.bridge.rawValue]
        if bridgeRestorable, bridge == nil || veth.masterIndex != bridge?.index {
            problems.append(problem(name, "not on bridge \(network.bridge)"))
        }
        if !veth.isUp { problems.append(problem(name, "down")) }
        let tag = KernelNames.Tag(veth.alias)
        if !(tag?.kind == .endpoint && tag?.owner == endpoint.id && tag?.belongs(to: instance) == true) {
            problems.append(problem(name, "not tagged \"\(KernelNames.endpointAlias(endpoint.id, instance: instance.id))\""))
        }
        return problems
    }

    /// Inside the endpoint's namespace: it exists, and holds the interface with its address
    /// and the default route via the gateway. Only `check` looks (a socket per namespace);
    /// what is missing there is made anew by detaching and attaching again.
    func insideProblems(_ endpoint: EndpointRecord, network: NetworkRecord, vethPresent: Bool) -> [CheckProblem] {
        func problem(_ object: String, _ what: String, _ repair: CheckProblem.Repair) -> CheckProblem {
            CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: object, problem: what, repair: repair)
        }
        let namespace: NetworkNamespace
        switch host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
        case .alive(let alive): namespace = alive
        case .gone: return [problem("network namespace \(endpoint.namespacePath)", "gone", .collectGarbage)]
        case .unknown(let error): return [Self.unchecked(endpoint.namespacePath, endpoint: endpoint.id, network: endpoint.network, error)]
        }
        var problems: [CheckProblem] = []
        do throws(BerthError) {
            let inside = try host.netlink(in: namespace)
            let link = try inside.link(named: endpoint.interfaceName.rawValue)
            problems += try missingInside(endpoint, network: network, inside: inside, link: link).map {
                problem($0.object, $0.problem, .reattach)
            }
        } catch where error.code == .notFound {
            // Without its host end the pair is gone, and gc is what removes the endpoint.
            problems.append(problem("interface \(endpoint.interfaceName) in \(endpoint.namespacePath)", "missing",
                                    vethPresent ? .reattach : .collectGarbage))
        } catch {
            problems.append(problem("network namespace \(endpoint.namespacePath)", "unreadable: \(error)", .reattach))
        }
        return problems
    }

    /// The endpoint's addresses and default routes missing on `link` inside its namespace:
    /// the IPv4 address and the default route via the gateway (none on an IPv6-only
    /// network), and on a network with IPv6 the IPv6 address and an IPv6 default route via a
    /// gateway, at any metric: a namespace's further dual-stack network has its own behind
    /// the first's (`wire`), and one attached by an earlier Berth uses the first's.
    func missingInside(_ endpoint: EndpointRecord, network: NetworkRecord, inside: RouteNetlink,
                       link: Link) throws(BerthError) -> [(object: String, problem: String)] {
        var missing: [(object: String, problem: String)] = []
        let cidr: CIDR? = if let address = endpoint.address, let subnet = network.subnet {
            try CIDR(address: .v4(address), prefixLength: subnet.prefixLength)
        } else {
            nil
        }
        let cidr6: CIDR? = if let address = endpoint.ipv6Address, let subnet = network.ipv6Subnet {
            try CIDR(address: .v6(address), prefixLength: subnet.prefixLength)
        } else {
            nil
        }
        // One dump of each kind: both families at once on a dual-stack network.
        let family: IPFamily? = cidr6 == nil ? .ipv4 : cidr == nil ? .ipv6 : nil
        let addresses = try inside.addresses(of: .index(link.index), family: family)
        if let cidr, !addresses.contains(where: { $0.cidr == cidr }) {
            missing.append(("address \(cidr) on \(endpoint.interfaceName)", "missing"))
        }
        if let cidr6, !addresses.contains(where: { $0.cidr == cidr6 }) {
            missing.append(("address \(cidr6) on \(endpoint.interfaceName)", "missing"))
        }
        let routes = try inside.routes(family: family)
        // A multipath default route with a next hop via the gateway counts too: someone
        // spreading the namespace's egress over several networks kept ours among them.
        if cidr != nil, let gateway = network.gateway, !routes.contains(where: { $0.isDefault && $0.gateways.contains(.v4(gateway)) }) {
            missing.append(("default route via \(gateway)", "missing"))
        }
        // The network's own IPv6 default route, at any metric (a further network's waits
        // behind the first's). Another network's stands in for it: an endpoint an earlier
        // Berth attached as a namespace's further network never got one of its own, and its
        // egress goes through the first's, as before; only a namespace left with none is
        // reported (re-attaching gives it its own).
        if cidr6 != nil, let gateway6 = network.ipv6Gateway,
           !routes.contains(where: { $0.family == .ipv6 && $0.isDefault && $0.type == .unicast && !$0.gateways.isEmpty }) {
            missing.append(("IPv6 default route via \(gateway6)", "missing"))
        }
        return missing
    }

    /// Endpoints that get map elements: not being detached, and with their veth present —
    /// an element must never point at an endpoint whose pair is gone.
    func plugged(_ endpoints: [EndpointRecord], view: HostView) -> [EndpointRecord] {
        endpoints.filter { !$0.isDetaching && view.byName[$0.hostVeth.rawValue] != nil }
    }

    /// The firewall's view of the publications that get map elements (their namespace
    /// lives, or could not be checked: `gc` keeps those), and a problem for each whose
    /// namespace is gone (`gc` forgets those) or could not be checked.
    func publishable(_ publications: [PublicationRecord]) throws(BerthError) -> (views: [EndpointRecord], gone: [CheckProblem]) {
        var views: [EndpointRecord] = []
        var gone: [CheckProblem] = []
        for publication in publications {
            switch host.namespaceStatus(path: publication.namespacePath, identity: publication.namespaceIdentity) {
            case .alive:
                views.append(try publication.firewallView())
            case .gone:
                gone.append(CheckProblem(endpoint: publication.id, network: publication.group,
                                         object: "network namespace \(publication.namespacePath)", problem: "gone", repair: .collectGarbage))
            case .unknown(let error):
                views.append(try publication.firewallView())
                gone.append(Self.unchecked(publication.namespacePath, endpoint: publication.id, network: publication.group, error))
            }
        }
        return (views, gone)
    }

    /// A namespace that could not be opened for another reason than being gone: refused
    /// (`.permissionDenied`) is checked again with the privilege, anything else just again.
    static func unchecked(_ path: String, endpoint: String, network: String, _ error: BerthError) -> CheckProblem {
        CheckProblem(endpoint: endpoint, network: network, object: "network namespace \(path)",
                     problem: "could not be checked: \(error)", repair: error.code == .permissionDenied ? .recheckWithPrivilege : .recheck)
    }

    /// The firewall's plans for `networks` and `endpoints` (publications' views among
    /// them), of `ip berth` and, when a network has IPv6 or an endpoint or publication has
    /// elements in it, of `ip6 berth`: a host without IPv6 reads one table. Publications
    /// alone, without any network, call for the tables they have elements in
    /// (`EndpointRecord.hasElements(in:)`, the rule publishing makes tables by): a
    /// dual-stack one whose every port is on an IPv6 host address needs no `ip berth`.
    func firewallPlans(_ firewall: Firewall, networks: [NetworkRecord], endpoints: [EndpointRecord]) throws(BerthError) -> [Firewall.Plan] {
        var plans: [Firewall.Plan] = []
        // Nothing recorded needs a table (a fresh state, or the last network removed by gc
        // before its create had made one): its absence is no problem.
        if !networks.isEmpty || endpoints.contains(where: { $0.hasElements(in: .ipv4) }) {
            plans.append(firewall.plan(networks: networks, endpoints: endpoints, table: try firewall.table()))
        }
        if networks.contains(where: \.hasIPv6) || endpoints.contains(where: { $0.hasElements(in: .ipv6) }) {
            plans.append(firewall.plan(.ipv6, networks: networks, endpoints: endpoints, table: try firewall.table6()))
        }
        return plans
    }

    /// The skeleton objects of Berth's tables that are not as Berth makes them, as problems
    /// no Berth command repairs.
    func foreignProblems(_ plans: [Firewall.Plan]) -> [CheckProblem] {
        plans.flatMap(\.foreign).map { CheckProblem(endpoint: nil, network: "", object: $0.object, problem: "not Berth's layout", repair: .replaceForeignTable) }
    }

    /// Firewall plan items as check problems, each with its owner.
    func problems(_ items: [Firewall.Item], endpoints: [EndpointRecord], problem: String) -> [CheckProblem] {
        items.map { item in
            let tag = KernelNames.Tag(item.owner)
            let endpoint = tag?.kind == .endpoint ? tag?.owner : nil
            let network = tag?.kind == .network ? tag?.owner : nil
            let owningNetwork = endpoint.flatMap { id in endpoints.first { $0.id == id }?.network }
            return CheckProblem(endpoint: endpoint, network: network ?? owningNetwork ?? "", object: item.object, problem: problem)
        }
    }
}
