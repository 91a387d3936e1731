import BerthCore
import BerthNamespace
import BerthNetlink

/// Carries out a plan in phases, batching each node's changes into one `sendmsg`:
/// nodes (with their conf/all and conf/default sysctls, which new links take), link deletions, link creations (one request per creating node), per-node
/// configuration (ends up and tagged, MTU, MAC, addresses, qdiscs), endpoints (detach,
/// attach: a node's `eth0` on its Berth network), sysctls, routes (so that both can name
/// `eth0` and its gateway), and last the nodes the file no longer has. Networks to create go
/// first (`applyNetworks`); containers and networks to remove go last (`applyServices`).
struct LabApplier {
    let spec: LabSpec
    let session: LabSession
    let engine: LabEngine
    let networks: LabNetworkLedger
    /// Where the values sysctls had before this apply wrote them are kept, for a rollback.
    var undo: LabSysctlUndo? = nil
    /// The lab's other specs (see `LabEngine.converge`): a removed node's stopped container
    /// is the lab's if it runs what one of them gave the node.
    var known: [LabSpec] = []
    /// Where the nodes whose namespaces this apply creates are noted.
    var made: LabMadeNodes? = nil
    /// Where the namespaces of removed nodes that teardown left (no tag of the lab: made by
    /// someone else under the name since the plan was read) are noted, for `up` to say.
    var leftAlone: LabLeftAlone? = nil

    private var lab: String { spec.name }

    /// Carries out the node actions of `actions`, and the endpoint ones (attach, detach) of
    /// `services` once links are configured, before sysctls and routes.
    func apply(_ actions: [LabAction], services: [LabAction] = [], failPoints: Bool = true) throws(BerthError) {
        func point(_ name: String) throws(BerthError) { if failPoints { try LabFailPoint.check(name) } }
        var configure: [String: [LabAction]] = [:]
        var creations: [String: [LinkSpec]] = [:]
        var sysctls: [String: [(String, String)]] = [:]
        var routes: [String] = []
        var deletions: [String: [Int32]] = [:]
        var removals: [String] = []
        var nodes: [LabAction] = []
        for action in actions {
            switch action {
            case .createNode, .tagNode: nodes.append(action)
            case .deleteNode(let node): removals.append(node)
            case .deleteLink(let node, _, let index): deletions[node, default: []].append(index)
            case .createLink(let link): creations[link.endpoints[0].node, default: []].append(link)
            case .setSysctl(let node, let key, let value): sysctls[node, default: []].append((key, value))
            case .syncRoutes(let node): routes.append(node)
            case .setUp(let node, _), .setMTU(let node, _, _), .setMAC(let node, _, _), .addAddress(let node, _, _),
                 .deleteAddress(let node, _, _), .setImpairment(let node, _, _):
                configure[node, default: []].append(action)
            case .createNetwork, .removeNetwork, .attach, .detach, .startContainer, .stopContainer:
                // `applyNetworks` and `applyServices`.
                break
            }
        }

        for action in nodes { try makeNode(action) }
        // conf/default and conf/all first, so that the links made next take them.
        for (node, pairs) in sysctls.sorted(by: { $0.key < $1.key }) {
            let early = pairs.filter { NodeSpec.Sysctl(key: $0.0, value: $0.1).appliesToNewInterfaces }
            guard !early.isEmpty else { continue }
            try writeSysctls(early, node: node)
            sysctls[node] = pairs.filter { !NodeSpec.Sysctl(key: $0.0, value: $0.1).appliesToNewInterfaces }
        }
        try point("lab.nodes")
        for (node, indexes) in deletions.sorted(by: { $0.key < $1.key }) {
            let netlink = try handle(node)
            try netlink.apply { changes throws(BerthError) in
                for index in indexes { try changes.deleteLink(.index(index)) }
            }
        }
        // Peer ends of new links, to tag and set up from their own namespace.
        var newEnds: [String: [(Int32, String)]] = [:]
        for (node, links) in creations.sorted(by: { $0.key < $1.key }) {
            for (link, created) in try createLinks(node, links) {
                let (a, b) = (link.endpoints[0], link.endpoints[1])
                session.indexes[a.node, default: [:]][a.interface.rawValue] = created.index
                // The peer's index is in its own namespace: two fresh nodes often both say 2.
                let peer = created.peerIndex ?? created.index
                session.indexes[b.node, default: [:]][b.interface.rawValue] = peer
                newEnds[b.node, default: []].append((peer, LabNames.linkAlias(lab: lab, key: link.key)))
            }
        }
        try point("lab.links")
        for node in Set(configure.keys).union(newEnds.keys).sorted() {
            try configureNode(node, configure[node] ?? [], newEnds: newEnds[node] ?? [])
        }
        try point("lab.configure")
        // A node's eth0 comes with its endpoint: its sysctls and routes (a route via the
        // network's gateway, or through eth0) need it. One detached and attached again (a
        // changed publish) has a new eth0: its eth0 sysctls and its routes are set again.
        for node in try applyEndpoints(services) where spec.node(node) != nil {
            if !routes.contains(node) { routes.append(node) }
            for sysctl in spec.node(node)?.sysctls ?? [] where sysctl.names(interface: LabNetworks.interfaceName)
                && !(sysctls[node] ?? []).contains(where: { $0.0 == sysctl.key }) {
                sysctls[node, default: []].append((sysctl.key, sysctl.value))
            }
        }
        try point("lab.attach")
        for (node, pairs) in sysctls.sorted(by: { $0.key < $1.key }) where !pairs.isEmpty {
            try writeSysctls(pairs, node: node)
        }
        try point("lab.sysctls")
        for node in routes { try syncRoutes(node) }
        try point("lab.routes")
        for node in removals {
            session.handles[node] = nil
            let removal = try engine.teardown(lab: lab, node: node, runs: known.compactMap { $0.node(node)?.run })
            leftAlone?.add(removal.leftAlone)
        }
    }

    /// Creates the networks `actions` name, each recorded in the ledger first.
    func applyNetworks(_ actions: [LabAction], failPoints: Bool) throws(BerthError) {
        let networks = LabNetworks(lab: lab, manager: engine.manager)
        for case .createNetwork(let network) in actions {
            try self.networks.willCreate(network.name)
            if try !networks.create(network) { try self.networks.forget([network.name]) }
        }
        if failPoints { try LabFailPoint.check("lab.networks") }
    }

    /// Detaches and attaches endpoints, in order; returns the nodes whose eth0 changed.
    private func applyEndpoints(_ actions: [LabAction]) throws(BerthError) -> [String] {
        let networks = LabNetworks(lab: lab, manager: engine.manager)
        var changed: [String] = []
        for action in actions {
            switch action {
            case .detach(let node):
                try networks.detach(node: node)
                changed.append(node)
            case .attach(let node, let network):
                guard let spec = spec.node(node) else { continue }
                try networks.attach(spec, network: network, source: self.spec.source)
                changed.append(node)
            default: continue
            }
        }
        var seen: Set<String> = []
        return changed.filter { seen.insert($0).inserted }
    }

    /// Stops and starts containers, removes networks, in that order (endpoints are
    /// attached by `apply`).
    func applyServices(_ actions: [LabAction], failPoints: Bool) throws(BerthError) {
        func point(_ name: String) throws(BerthError) { if failPoints { try LabFailPoint.check(name) } }
        let networks = LabNetworks(lab: lab, manager: engine.manager)
        for case .stopContainer(let node) in actions {
            try engine.containers.stop(named: LabContainers.name(lab: lab, node: node))
        }
        for case .startContainer(let node) in actions {
            guard let spec = spec.node(node), let run = spec.run else { continue }
            guard case let (namespace, _)? = session.handles[node] else { throw missingHandle(node) }
            try engine.containers.start(lab: lab, node: spec, run: run, in: namespace)
        }
        try point("lab.run")
        var removals: [String] = []
        for case .removeNetwork(let network) in actions { removals.append(network) }
        let removed = try networks.remove(created: Set(removals), keep: []).removed
        try self.networks.forget(removed)
    }

    // MARK: - Phases

    /// Writes a node's sysctls, first noting the values they had (as observed) in `undo`.
    private func writeSysctls(_ pairs: [(String, String)], node: String) throws(BerthError) {
        guard case let (namespace, _)? = session.handles[node] else { throw missingHandle(node) }
        if let undo, let seen = session.observation.nodes[node], seen.exists {
            for (key, _) in pairs {
                if case let old?? = seen.sysctls[key] { undo.note(node: node, key: key, old: old) }
            }
        }
        try LabObserver.writeSysctls(pairs, in: namespace, node: node)
    }

    /// Written in every namespace the lab makes, before its links. A new namespace has
    /// promote_secondaries 0: deleting an interface's primary IPv4 address would delete
    /// the secondaries of its subnet with it, addresses the file keeps (`[10.0.0.1/24,
    /// 10.0.0.2/24]` edited to `[10.0.0.2/24]` left none). With 1 the kernel makes a
    /// secondary the primary. `default`, not `all`: the kernel ORs the two, and `all` would
    /// override a file's per-interface 0.
    static let nodeDefaults = [("net.ipv4.conf.default.promote_secondaries", "1")]

    private func makeNode(_ action: LabAction) throws(BerthError) {
        let node: String
        let namespace: NetworkNamespace
        switch action {
        case .createNode(let name):
            node = name
            // A leftover empty file of an interrupted create of this node (the lab owns it:
            // `refuseForeign` refused the others) stands where the namespace is mounted.
            if session.observation.nodes[name]?.leftover == true {
                try NetworkNamespace.delete(named: LabNames.namespace(lab: lab, node: name))
            }
            // Tagged before it is named: an untagged namespace called LAB-NODE is never one
            // the lab made (`ip netns add` of the name), so `up` refuses it and `down`, `gc`
            // leave it alone.
            let tag = LabNames.nodeAlias(lab: lab, node: name, state: engine.stateTag)
            namespace = try NetworkNamespace.create(named: LabNames.namespace(lab: lab, node: name)) { () throws(BerthError) in
                try RouteNetlink().apply { changes throws(BerthError) in
                    try changes.setUp(.index(1))
                    try changes.setAlias(.index(1), to: tag)
                }
            }
            made?.insert(name)
        case .tagNode(let name):
            node = name
            guard case let (existing, _)? = session.handles[name] else { throw missingHandle(name) }
            namespace = existing
        default: return
        }
        do throws(BerthError) {
            let netlink: RouteNetlink
            if let existing = session.handles[node]?.1 { netlink = existing } else { netlink = try RouteNetlink(namespace: namespace) }
            session.handles[node] = (namespace, netlink)
            if case .tagNode = action {
                try netlink.apply { changes throws(BerthError) in
                    try changes.setUp(.index(1))
                    try changes.setAlias(.index(1), to: LabNames.nodeAlias(lab: lab, node: node, state: engine.stateTag))
                }
            }
            // Before the node's links exist, so that they take it; the file's own value (its
            // conf/default sysctls are written next, its per-interface ones after the links) wins.
            try LabObserver.writeSysctls(Self.nodeDefaults, in: namespace, node: node)
        } catch {
            // One whose node defaults are not written would not be made again: remove it now.
            if case .createNode = action { try? NetworkNamespace.delete(named: LabNames.namespace(lab: lab, node: node)) }
            throw error
        }
    }

    /// One request from `node` creating every link it is the first end of (sent in chunks of
    /// `RouteNetlink.messagesPerSend`); the echoes give both ends' indexes, or a lookup by
    /// name on a kernel that echoes nothing.
    private func createLinks(_ node: String, _ links: [LinkSpec]) throws(BerthError) -> [(LinkSpec, Link)] {
        let netlink = try handle(node)
        var peers: [NetworkNamespace] = []
        for link in links {
            guard case let (namespace, _)? = session.handles[link.endpoints[1].node] else { throw missingHandle(link.endpoints[1].node) }
            peers.append(namespace)
        }
        let echoed = try netlink.apply { changes throws(BerthError) in
            for (link, peerNamespace) in zip(links, peers) {
                let (a, b) = (link.endpoints[0], link.endpoints[1])
                try changes.createVeth(named: a.interface, peer: b.interface, peerNamespace: peerNamespace, up: true,
                                       mtu: link.mtu, mac: a.mac, peerMAC: b.mac)
                try changes.setAlias(.name(a.interface), to: LabNames.linkAlias(lab: lab, key: link.key))
            }
        }
        var result: [(LinkSpec, Link)] = []
        for link in links {
            let name = link.endpoints[0].interface.rawValue
            // Kernels before 6.1 ignore NLM_F_ECHO on RTM_NEWLINK: look the link up by name.
            let created: Link
            if let link = echoed.last(where: { $0.name == name }) { created = link } else { created = try netlink.link(named: name) }
            result.append((link, created))
        }
        return result
    }

    /// One `sendmsg` per node: new ends tagged and up, then interface changes, addresses
    /// and qdiscs.
    private func configureNode(_ node: String, _ actions: [LabAction], newEnds: [(Int32, String)]) throws(BerthError) {
        let netlink = try handle(node)
        let installed = session.observation.nodes[node]
        try netlink.apply { changes throws(BerthError) in
            for (index, alias) in newEnds {
                try changes.setAlias(.index(index), to: alias)
                try changes.setUp(.index(index))
            }
            for action in actions {
                switch action {
                case .setUp(_, let interface): try changes.setUp(.index(index(node, interface)))
                case .setMTU(_, let interface, let mtu): try changes.setMTU(.index(index(node, interface)), to: mtu)
                case .setMAC(_, let interface, let mac): try changes.setMAC(.index(index(node, interface)), to: mac)
                case .deleteAddress(_, let interface, let cidr): try changes.deleteAddress(cidr, from: .index(index(node, interface)))
                case .addAddress(_, let interface, let cidr):
                    try changes.addAddress(cidr, to: .index(index(node, interface)), flags: cidr.family == .ipv6 ? .noDAD : [])
                case .setImpairment(_, let interface, let impairment):
                    // A re-created link starts without qdiscs, whatever the old one had.
                    let seen = installed?.interface(interface).flatMap { seen in seen.link.index == (try? index(node, interface)) ? seen : nil }
                    try changes.setImpairment(impairment, on: .index(index(node, interface)), installed: seen?.impairment ?? Impairment(),
                                              foreignRoot: seen?.foreignRoot)
                default: break
                }
            }
        }
    }

    /// Reads the node's routes again (link changes take routes with them) and adds and
    /// deletes static ones until they are the file's.
    private func syncRoutes(_ node: String) throws(BerthError) {
        let netlink = try handle(node)
        let wanted = spec.node(node)?.routes ?? []
        var seen = session.observation.nodes[node] ?? .missing(node, namespace: LabNames.namespace(lab: lab, node: node))
        // The endpoint as it is now: the observation was read before this apply attached or
        // detached it, and the default route its attach made is the network's, not the file's.
        seen.endpoint = try LabNetworks(lab: lab, manager: engine.manager).endpoint(node: node)
        seen.routes = try netlink.routes(table: RouteTable.main)
        let links = try netlink.links()
        seen.interfaces = links.filter { $0.kind != .loopback }.map { ObservedInterface(link: $0, addresses: [], impairment: Impairment()) }
        // An endpoint attached in this apply made a new eth0.
        for link in links { session.indexes[node, default: [:]][link.name] = link.index }
        let have = LabPlanner.managed(seen.routes, seen).map { ($0, LabPlanner.labRoute($0, seen)) }
        try netlink.apply { changes throws(BerthError) in
            // A route whose device changed goes before the new one comes (one per destination and metric).
            for (route, installed) in have where !wanted.contains(where: { $0.matches(installed) }) {
                try changes.deleteRoute(to: route.isDefault ? nil : route.destination, via: route.gateway, device: route.linkIndex.map { .index($0) },
                                        family: route.family, metric: route.metric)
            }
            // Routes without a gateway first, in the file's order, then those with one: the
            // kernel refuses a gateway it cannot reach yet (ENETUNREACH), and a file may name
            // the route that reaches it after the route through it.
            for route in wanted.filter({ $0.gateway == nil }) + wanted.filter({ $0.gateway != nil })
            where !have.contains(where: { route.matches($0.1) }) {
                let device = try route.device.map { name throws(BerthError) -> LinkReference in .index(try index(node, name.rawValue)) }
                try changes.addRoute(to: route.destination, via: route.gateway, device: device, family: route.family, metric: route.metric)
            }
        }
    }

    // MARK: - Helpers

    private func handle(_ node: String) throws(BerthError) -> RouteNetlink {
        guard case let (_, netlink)? = session.handles[node] else { throw missingHandle(node) }
        return netlink
    }

    private func index(_ node: String, _ interface: String) throws(BerthError) -> Int32 {
        guard let index = session.indexes[node]?[interface] else {
            throw BerthError(.internalError, "lab \(lab): no index known for \(node):\(interface)")
        }
        return index
    }

    private func missingHandle(_ node: String) -> BerthError {
        BerthError(.notFound, "lab \(lab): the namespace of node \(node) is gone", hint: "bring the lab up again",
                   object: .namespace(LabNames.namespace(lab: lab, node: node)), operation: .labUp)
    }
}
