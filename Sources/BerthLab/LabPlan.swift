public import BerthCore
public import BerthNetlink

/// One change `up` makes to bring the kernel to the file. A plan is the list, in order;
/// `up` of a lab that matches its file plans nothing.
public enum LabAction: Sendable, Hashable, CustomStringConvertible {
    /// Create the node's namespace, bring `lo` up and tag it.
    case createNode(String)
    /// Tag a namespace the lab made before a crash let it tag it.
    case tagNode(String)
    case deleteNode(String)
    case createLink(LinkSpec)
    /// Delete a link from one of its ends (the peer goes with it).
    case deleteLink(node: String, interface: String, index: Int32)
    case setUp(node: String, interface: String)
    case setMTU(node: String, interface: String, mtu: UInt32)
    case setMAC(node: String, interface: String, mac: MACAddress)
    case addAddress(node: String, interface: String, CIDR)
    case deleteAddress(node: String, interface: String, CIDR)
    case setImpairment(node: String, interface: String, Impairment)
    case setSysctl(node: String, key: String, value: String)
    /// Bring a node's static routes to the file's (read again after its links changed).
    case syncRoutes(node: String)
    /// Create a Berth network the file declares and that does not exist.
    case createNetwork(NetworkSpec)
    /// Remove a Berth network the lab created and the file no longer declares.
    case removeNetwork(String)
    /// Join a node to its Berth network (an endpoint, publishing its ports).
    case attach(node: String, network: String)
    /// Take a node off its Berth network.
    case detach(node: String)
    /// Start a node's container, in its namespace.
    case startContainer(node: String)
    /// Stop a node's container.
    case stopContainer(node: String)

    public var description: String {
        switch self {
        case .createNode(let node): "create node \(node)"
        case .tagNode(let node): "tag node \(node)"
        case .deleteNode(let node): "delete node \(node)"
        case .createLink(let link): "create link \(link.key)"
        case .deleteLink(let node, let interface, _): "delete link \(node):\(interface)"
        case .setUp(let node, let interface): "set \(node):\(interface) up"
        case .setMTU(let node, let interface, let mtu): "set mtu of \(node):\(interface) to \(mtu)"
        case .setMAC(let node, let interface, let mac): "set mac of \(node):\(interface) to \(mac)"
        case .addAddress(let node, let interface, let cidr): "add \(cidr) to \(node):\(interface)"
        case .deleteAddress(let node, let interface, let cidr): "delete \(cidr) from \(node):\(interface)"
        case .setImpairment(let node, let interface, let impairment): "impair \(node):\(interface): \(impairment)"
        case .setSysctl(let node, let key, let value): "set \(key)=\(value) in node \(node)"
        case .syncRoutes(let node): "sync routes of node \(node)"
        case .createNetwork(let network): "create network \(network.name)"
        case .removeNetwork(let network): "remove network \(network)"
        case .attach(let node, let network): "attach node \(node) to network \(network)"
        case .detach(let node): "detach node \(node) from its network"
        case .startContainer(let node): "start the container of node \(node)"
        case .stopContainer(let node): "stop the container of node \(node)"
        }
    }
}

/// Compares a spec with what the kernel holds and lists the changes, in the order `up`
/// makes them.
struct LabPlanner {
    let spec: LabSpec
    let observation: LabObservation
    /// Nodes the lab may delete without seeing its tag (from its state); others only if tagged.
    var owned: Set<String> = []
    /// Other specs of the lab (the previous one, or the one a rollback leaves): a link-scope
    /// address one of them (or `spec`) declares is the lab's to delete; any other (the
    /// kernel's own `fe80::`) is left alone.
    var known: [LabSpec] = []

    /// The veth MTU when the file says none.
    static let defaultMTU: UInt32 = 1500

    func plan() -> [LabAction] {
        var actions: [LabAction] = []
        let declaredSet = declaredAddresses()
        let lab = spec.name
        let wanted = Set(spec.nodes.map(\.name))
        var touched: Set<String> = []

        for node in spec.nodes {
            guard let seen = observation.nodes[node.name], seen.exists else { actions.append(.createNode(node.name)); continue }
            if !seen.tagged { actions.append(.tagNode(node.name)) }
        }

        // Ends that exist with the wanted name and key stay; any other tagged end of this
        // lab, or a wanted name held by something else, goes.
        var keep: Set<String> = [] // "node:iface"
        var deletedKeys: Set<String> = []
        var ends: [String: (LinkSpec, EndpointSpec)] = [:]
        for link in spec.links { for end in link.endpoints { ends[end.description] = (link, end) } }
        for (name, seen) in observation.nodes.sorted(by: { $0.key < $1.key }) where seen.exists && wanted.contains(name) {
            for interface in seen.interfaces {
                let id = "\(name):\(interface.link.name)"
                let tag = LabNames.link(fromAlias: interface.link.alias)
                if case let (link, _)? = ends[id], tag?.lab == lab, tag?.key == link.key, interface.link.kind == .veth {
                    keep.insert(id)
                    continue
                }
                let ours = tag?.lab == lab
                guard ours || ends[id] != nil else { continue } // not the lab's, not in the way
                // Deleting one end removes the other: once per key.
                if let key = tag?.key, ours, !deletedKeys.insert(key).inserted { continue }
                actions.append(.deleteLink(node: name, interface: interface.link.name, index: interface.link.index))
                touched.insert(name)
            }
        }

        // Sysctls of an interface made anew: the old one's values went with it.
        var resysctl: [String: Set<String>] = [:] // node: interfaces
        for link in spec.links {
            let present = link.endpoints.allSatisfy { keep.contains($0.description) }
            if !present {
                actions.append(.createLink(link))
                for end in link.endpoints {
                    touched.insert(end.node)
                    resysctl[end.node, default: []].insert(end.interface.rawValue)
                    for cidr in end.addresses { actions.append(.addAddress(node: end.node, interface: end.interface.rawValue, cidr)) }
                    if !end.impairment.isEmpty { actions.append(.setImpairment(node: end.node, interface: end.interface.rawValue, end.impairment)) }
                }
                continue
            }
            for end in link.endpoints {
                guard let seen = observation.nodes[end.node]?.interface(end.interface.rawValue) else { continue }
                let iface = end.interface.rawValue
                let mtu = link.mtu ?? Self.defaultMTU
                if seen.link.mtu != mtu { actions.append(.setMTU(node: end.node, interface: iface, mtu: mtu)) }
                if let mac = end.mac, seen.link.mac != mac { actions.append(.setMAC(node: end.node, interface: iface, mac: mac)) }
                if !seen.link.isUp { actions.append(.setUp(node: end.node, interface: iface)) }
                for cidr in seen.addresses where !end.addresses.contains(cidr) && (!seen.linkScoped.contains(cidr) || declared(cidr, end, in: declaredSet)) {
                    actions.append(.deleteAddress(node: end.node, interface: iface, cidr))
                    // The kernel removes every route through an interface whose last IPv4
                    // address goes (fib_disable_ip), even when another is added in the same
                    // request: the node's routes are read again and put back.
                    touched.insert(end.node)
                }
                for cidr in end.addresses where !seen.addresses.contains(cidr) {
                    actions.append(.addAddress(node: end.node, interface: iface, cidr))
                }
                if !end.impairment.matches(seen.impairment) {
                    actions.append(.setImpairment(node: end.node, interface: iface, end.impairment))
                }
            }
        }

        for node in spec.nodes {
            let seen = observation.nodes[node.name]
            let fresh = resysctl[node.name] ?? []
            for sysctl in node.sysctls {
                let current = seen?.sysctls[sysctl.key] ?? nil
                if current.map(Self.normalize) != Self.normalize(sysctl.value) || fresh.contains(where: { sysctl.names(interface: $0) }) {
                    actions.append(.setSysctl(node: node.name, key: sysctl.key, value: sysctl.value))
                }
            }
            if touched.contains(node.name) || seen?.exists != true || !routesMatch(node, seen) {
                if !node.routes.isEmpty || !(seen.map { staticRoutes($0).isEmpty } ?? true) {
                    actions.append(.syncRoutes(node: node.name))
                }
            }
        }

        // A node the file no longer has goes when its namespace carries its tag, or when the
        // lab owns it and only an interrupted create's leftover file is at its path. An
        // untagged namespace of an owned name is someone else's (`ip netns del` and `add`
        // of the name; the lab tags before it names): teardown would leave it, so it is not
        // planned, and `leftAlone` names it.
        for (name, seen) in observation.nodes.sorted(by: { $0.key < $1.key })
        where !wanted.contains(name) && (seen.tagged || (seen.leftover && owned.contains(name))) {
            actions.append(.deleteNode(name))
        }
        return actions
    }

    /// The namespaces of nodes the lab owns and the file no longer has that `plan` leaves
    /// in place because they carry no lab tag (made by someone else under the node's
    /// name): what `up` warns of. Another lab's node of the same name is left without a word,
    /// as `LabEngine.teardown` leaves it.
    func leftAlone() -> [String] {
        let wanted = Set(spec.nodes.map(\.name))
        return observation.nodes.sorted(by: { $0.key < $1.key })
            .filter { name, seen in seen.exists && !seen.tagged && seen.heldBy == nil && !wanted.contains(name) && owned.contains(name) }
            .map(\.value.namespaceName)
    }

    /// Whether a spec of the lab declares `cidr` on the end `end` names.
    private func declared(_ cidr: CIDR, _ end: EndpointSpec, in declared: Set<DeclaredAddress>) -> Bool {
        declared.contains(DeclaredAddress(node: end.node, interface: end.interface, cidr: cidr))
    }

    /// An address a spec gives a link end.
    struct DeclaredAddress: Hashable {
        var node: String
        var interface: InterfaceName
        var cidr: CIDR
    }

    /// Every address the lab's specs give a link end, gathered once: asked about for each
    /// link-scoped address of each interface, scanning the specs would be quadratic.
    private func declaredAddresses() -> Set<DeclaredAddress> {
        var declared: Set<DeclaredAddress> = []
        for other in [spec] + known {
            for link in other.links {
                for end in link.endpoints {
                    for cidr in end.addresses { declared.insert(DeclaredAddress(node: end.node, interface: end.interface, cidr: cidr)) }
                }
            }
        }
        return declared
    }

    /// Whether a node's static routes are the file's.
    private func routesMatch(_ node: NodeSpec, _ seen: ObservedNode?) -> Bool {
        guard let seen else { return node.routes.isEmpty }
        let have = staticRoutes(seen)
        return have.allSatisfy { installed in node.routes.contains { $0.matches(installed) } }
            && node.routes.allSatisfy { wanted in have.contains { wanted.matches($0) } }
    }

    /// The node's routes that Berth would have made (protocol static), as LabRoutes.
    func staticRoutes(_ seen: ObservedNode) -> [LabRoute] {
        Self.managed(seen.routes, seen).map { Self.labRoute($0, seen) }
    }

    /// The routes the lab manages in a node: static ones, but for the default routes its
    /// Berth network's attach made through the network's interface: IPv4 at metric 0, and on
    /// a dual-stack network IPv6 at the kernel's default metric (1024), where a file's
    /// default route of that family and metric could not be beside it anyway.
    static func managed(_ routes: [Route], _ seen: ObservedNode) -> [Route] {
        let networkIndex = seen.networkInterface?.link.index
        return routes.filter { route in
            guard route.routeProtocol == .static else { return false }
            guard networkIndex != nil, route.isDefault, route.linkIndex == networkIndex else { return true }
            let metric = route.metric ?? 0
            return !(route.family == .ipv4 ? metric == 0 : metric == 0 || metric == 1024)
        }
    }

    /// A route as a file would write it, with the device it goes through (with or without
    /// a gateway: `LabRoute.matches` ignores the device of a gateway route that names none).
    static func labRoute(_ route: Route, _ seen: ObservedNode) -> LabRoute {
        let device = route.linkIndex.flatMap { index in seen.interfaces.first { $0.link.index == index } }
            .flatMap { try? InterfaceName($0.link.name) }
        return LabRoute(destination: route.isDefault ? nil : route.destination, gateway: route.gateway, device: device,
                        metric: route.metric == 0 ? nil : route.metric, family: route.family)
    }

    /// Sysctl values compare with runs of whitespace as one space (tcp_rmem prints tabs).
    static func normalize(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
