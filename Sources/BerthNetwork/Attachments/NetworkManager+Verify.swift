public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Checks one endpoint, by exact id, against the kernel: its network's bridge (present,
    /// a bridge, up), its host veth (present, up, on that bridge), its namespace (still the
    /// one recorded), inside it the interface (present, up, with the recorded MAC), its
    /// address and a default route via the gateway, and its published map elements with
    /// the network's rules and the table's skeleton — but for what only publications use
    /// (`publication_hairpin` and its rule). Extra routes, addresses or links are not problems.
    ///
    /// Returns what is missing or wrong, empty when all is in place. Throws `.notFound`
    /// when no endpoint has this id (there is no lease). `expectedMAC`, when given, is the
    /// MAC the interface must have instead of the recorded one (a later CNI plugin such as
    /// `tuning` may have changed it, and says so in its result).
    public func verifyEndpoint(id: String, expectedMAC: MACAddress? = nil) throws(BerthError) -> [CheckProblem] {
        do {
            return try verify(endpointID: id, expectedMAC: expectedMAC)
        } catch {
            throw error.with(operation: .check)
        }
    }

    /// Checks a publication's map elements of both families (publications own nothing
    /// else) and that its namespace is still the one recorded. Throws `.notFound` when there is none with
    /// this id.
    public func verifyPublication(id: String) throws(BerthError) -> [CheckProblem] {
        do throws(BerthError) {
            guard let publication = try self.publication(id: id) else {
                throw BerthError(.notFound, "no publication with id \"\(id)\"", object: .publication(id), parameter: "id")
            }
            var problems: [CheckProblem] = []
            switch host.namespaceStatus(path: publication.namespacePath, identity: publication.namespaceIdentity) {
            case .alive: break
            case .gone:
                problems.append(CheckProblem(endpoint: id, network: publication.group, object: "network namespace \(publication.namespacePath)",
                                             problem: "gone"))
            case .unknown(let error):
                problems.append(Self.unchecked(publication.namespacePath, endpoint: id, network: publication.group, error))
            }
            let firewall = try self.firewall(try store.read { tx throws(BerthError) in try tx.instance() })
            // Both families' elements: `ip6 berth` is read for a publication with an IPv6 address.
            let plans = try firewallPlans(firewall, networks: [], endpoints: [try publication.firewallView()])
            problems += plans.flatMap { $0.missing + $0.conflicts }.map {
                CheckProblem(endpoint: id, network: publication.group, object: $0.object, problem: "missing")
            }
            return problems
        } catch {
            throw error.with(operation: .check)
        }
    }

    private func verify(endpointID id: String, expectedMAC: MACAddress?) throws(BerthError) -> [CheckProblem] {
        let (instance, endpoint, network) = try store.read { tx throws(BerthError) -> (StateInstance, EndpointRecord, NetworkRecord) in
            guard let endpoint = try tx.endpoint(id: id) else {
                throw BerthError(.notFound, "no endpoint with id \"\(id)\"", object: .endpoint(id), parameter: "id")
            }
            return (try tx.instance(), endpoint, try tx.requireNetwork(named: endpoint.network))
        }
        func problem(_ object: String, _ what: String) -> CheckProblem {
            CheckProblem(endpoint: endpoint.id, network: network.name, object: object, problem: what)
        }
        // Marked: an attach or a detach of it was interrupted (the mark does not say which);
        // the endpoint is on its way out, whatever is left of it.
        if endpoint.isDetaching { return [.interrupted(endpoint)] }
        var problems: [CheckProblem] = []
        let bridge = try optionalLink(named: network.bridge.rawValue)
        if let bridge, bridge.kind == .bridge {
            if !bridge.isUp { problems.append(problem("bridge \(network.bridge)", "down")) }
        } else {
            problems.append(problem("bridge \(network.bridge)", bridge == nil ? "missing" : "not a bridge"))
        }
        if let veth = try optionalLink(named: endpoint.hostVeth.rawValue) {
            if let bridge, veth.masterIndex != bridge.index { problems.append(problem("veth \(endpoint.hostVeth)", "not on bridge \(network.bridge)")) }
            if !veth.isUp { problems.append(problem("veth \(endpoint.hostVeth)", "down")) }
        } else {
            problems.append(problem("veth \(endpoint.hostVeth)", "missing"))
        }
        switch host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) {
        case .alive(let namespace):
            problems += try verifyInside(endpoint, network: network, namespace: namespace, expectedMAC: expectedMAC ?? endpoint.mac, problem: problem)
        case .gone:
            problems.append(problem("network namespace \(endpoint.namespacePath)", "gone"))
        case .unknown(let error):
            problems.append(Self.unchecked(endpoint.namespacePath, endpoint: endpoint.id, network: network.name, error))
        }
        let firewall = try self.firewall(instance)
        let plans = try firewallPlans(firewall, networks: [network], endpoints: [endpoint])
        // What only publications use (`publication_hairpin` and its rule, which a table an
        // earlier Berth made lacks) is no problem of an endpoint's: an attach reads no table
        // when its bridge is ready, so DEL and ADD would not add it (a publish, a network's
        // create and `reconcile` do), and `check` reports it all the same.
        problems += plans.flatMap { $0.missing.filter { !$0.publicationsOnly } + $0.conflicts }.map { problem($0.object, "missing") }
        return problems
    }

    private func verifyInside(_ endpoint: EndpointRecord, network: NetworkRecord, namespace: NetworkNamespace, expectedMAC: MACAddress,
                              problem: (String, String) -> CheckProblem) throws(BerthError) -> [CheckProblem] {
        var problems: [CheckProblem] = []
        let inside = try host.netlink(in: namespace)
        let link: Link
        do throws(BerthError) {
            link = try inside.link(named: endpoint.interfaceName.rawValue)
        } catch where error.code == .notFound {
            return [problem("interface \(endpoint.interfaceName) in \(endpoint.namespacePath)", "missing")]
        }
        if !link.isUp { problems.append(problem("interface \(endpoint.interfaceName)", "down")) }
        if let mac = link.mac, mac != expectedMAC {
            problems.append(problem("interface \(endpoint.interfaceName)", "has MAC \(mac), not \(expectedMAC)"))
        }
        problems += try missingInside(endpoint, network: network, inside: inside, link: link).map { problem($0.object, $0.problem) }
        return problems
    }

    /// The host link of this name, or nil when there is none.
    func optionalLink(named name: String) throws(BerthError) -> Link? {
        do throws(BerthError) {
            return try host.netlink.link(named: name)
        } catch where error.code == .notFound {
            return nil
        }
    }
}
