public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Checks that every recorded object exists in the kernel: each network's bridge and
    /// gateway address, and for each endpoint (or only `id`) its veth on the bridge, its
    /// namespace, and inside it the interface, address and default route.
    public func check(id: String? = nil) throws(BerthError) -> [CheckProblem] {
        do {
            return try checkKernel(id: id)
        } catch {
            throw error.with(operation: .check)
        }
    }

    private func checkKernel(id: String?) throws(BerthError) -> [CheckProblem] {
        let (networks, endpoints) = try store.read { tx throws(BerthError) in
            let endpoints = if let id { [try tx.endpoint(matching: id)] } else { try tx.endpoints() }
            return (try tx.networks(), endpoints)
        }
        let links = Dictionary(try host.netlink.links().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let addresses = try host.netlink.addresses(family: .ipv4)
        var problems: [CheckProblem] = []
        let inScope = Set(endpoints.map(\.network))
        for network in networks where id == nil || inScope.contains(network.name) {
            guard let bridge = links[network.bridge.rawValue], bridge.kind == .bridge else {
                problems.append(CheckProblem(endpoint: nil, network: network.name, object: "bridge \(network.bridge)", problem: "missing"))
                continue
            }
            let gateway = try CIDR(address: .v4(network.gateway), prefixLength: network.subnet.prefixLength)
            if !addresses.contains(where: { $0.linkIndex == bridge.index && $0.cidr == gateway }) {
                problems.append(CheckProblem(endpoint: nil, network: network.name, object: "address \(gateway) on \(network.bridge)", problem: "missing"))
            }
            if !bridge.isUp {
                problems.append(CheckProblem(endpoint: nil, network: network.name, object: "bridge \(network.bridge)", problem: "down"))
            }
        }
        let networksByName = Dictionary(networks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for endpoint in endpoints {
            guard let network = networksByName[endpoint.network] else { continue }
            problems += checkEndpoint(endpoint, network: network, links: links)
        }
        let scopedNetworks = networks.filter { id == nil || inScope.contains($0.name) }
        problems += firewallProblems(networks: scopedNetworks, endpoints: endpoints, table: try firewall.table())
        return problems
    }

    private func checkEndpoint(_ endpoint: EndpointRecord, network: NetworkRecord, links: [String: Link]) -> [CheckProblem] {
        func problem(_ object: String, _ what: String) -> CheckProblem {
            CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: object, problem: what)
        }
        var problems: [CheckProblem] = []
        if let veth = links[endpoint.hostVeth.rawValue] {
            if veth.masterIndex != links[network.bridge.rawValue]?.index {
                problems.append(problem("veth \(endpoint.hostVeth)", "not on bridge \(network.bridge)"))
            }
        } else {
            problems.append(problem("veth \(endpoint.hostVeth)", "missing"))
        }
        guard let namespace = try? host.open(.path(endpoint.namespacePath)),
              namespace.identity == endpoint.namespaceIdentity else {
            problems.append(problem("network namespace \(endpoint.namespacePath)", "gone"))
            return problems
        }
        do throws(BerthError) {
            let inside = try host.netlink(in: namespace)
            let link = try inside.link(named: endpoint.interfaceName.rawValue)
            let cidr = try CIDR(address: .v4(endpoint.address), prefixLength: network.subnet.prefixLength)
            if !(try inside.addresses(of: .index(link.index), family: .ipv4).contains { $0.cidr == cidr }) {
                problems.append(problem("address \(cidr) on \(endpoint.interfaceName)", "missing"))
            }
            let gateway = IPAddress.v4(network.gateway)
            if !(try inside.routes(family: .ipv4).contains { $0.isDefault && $0.gateway == gateway }) {
                problems.append(problem("default route via \(network.gateway)", "missing"))
            }
        } catch where error.code == .notFound {
            problems.append(problem("interface \(endpoint.interfaceName) in \(endpoint.namespacePath)", "missing"))
        } catch {
            problems.append(problem("network namespace \(endpoint.namespacePath)", "unreadable: \(error)"))
        }
        return problems
    }
}
