public import BerthCore
public import BerthNetwork
public import BerthNamespace
import BerthRun

/// The Berth-network half of a lab, through a `NetworkManager`: the networks the lab
/// declares (used if they exist, created if they do not) and the endpoints that join its
/// nodes to them, publishing their ports.
///
/// A node's endpoint has the node's namespace name as its id (`LAB-NODE`) and interface
/// `eth0`, so everything is found again from the lab's name after a crash. Policy only:
/// every kernel change goes through the manager, whose host handle can be a fake kernel.
public struct LabNetworks {
    public let lab: String
    public let manager: NetworkManager

    public init(lab: String, manager: NetworkManager) {
        self.lab = lab
        self.manager = manager
    }

    /// The endpoint id of a node on its network.
    public static func endpointID(lab: String, node: String) -> String { LabNames.namespace(lab: lab, node: node) }

    /// The interface a node's network gives it.
    public static let interfaceName = "eth0"

    // MARK: - Networks

    /// The declared networks that do not exist yet. Those that exist are checked against
    /// the spec: a different subnet, gateway or internal flag (each only when the spec gives
    /// it) is a conflict, refused before
    /// anything is made. A network whose create or removal did not finish
    /// (`NetworkRecord.Phase`) counts as missing: nothing attaches to it, and creating the
    /// network finishes it (removes what it made) before making it anew, as the spec says.
    public func missing(_ spec: LabSpec) throws(BerthError) -> [NetworkSpec] {
        let existing = Dictionary(try manager.networks().filter { $0.phase == .ready }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var missing: [NetworkSpec] = []
        for network in spec.networks {
            guard let record = existing[network.name] else { missing.append(network); continue }
            var differences: [String] = []
            if let subnet = network.subnet, subnet != record.subnet { differences.append("subnet \(record.subnet?.description ?? "none"), not \(subnet)") }
            if let gateway = network.gateway, gateway != record.gateway { differences.append("gateway \(record.gateway?.description ?? "none"), not \(gateway)") }
            if let wanted = network.isInternal, wanted != record.isInternal { differences.append(record.isInternal ? "is internal" : "is not internal") }
            guard differences.isEmpty else {
                throw BerthError(.conflict, "lab \(lab) declares network \(network.name), which exists with \(differences.joined(separator: ", "))",
                                 hint: "declare it as it is, or give the lab's network another name",
                                 object: .network(network.name), operation: .labUp)
            }
        }
        return missing
    }

    /// Creates a declared network. Returns false if another process created it meanwhile
    /// (then the lab only uses it).
    public func create(_ network: NetworkSpec) throws(BerthError) -> Bool {
        do {
            // No resolver: a lab's topology is what its file declares, and a process answering
            // on every gateway would be a surprise in an experiment.
            try manager.createNetwork(NetworkOptions(name: network.name, subnet: network.subnet, gateway: network.gateway,
                                                     isInternal: network.isInternal ?? false, dns: false))
            return true
        } catch where error.code == .alreadyExists && error.object == .network(network.name) {
            return false
        }
    }

    /// Removes networks the lab created that `keep` does not name. A network that others'
    /// endpoints still use stays (and is returned in `kept`); one already gone is fine.
    public func remove(created: Set<String>, keep: Set<String>) throws(BerthError) -> (removed: [String], kept: [String]) {
        var removed: [String] = [], kept: [String] = []
        for name in created.subtracting(keep).sorted() {
            do throws(BerthError) {
                try manager.removeNetwork(named: name)
                removed.append(name)
            } catch where error.code == .notFound && error.object == .network(name) {
                removed.append(name)
            } catch where error.code == .conflict && error.remedy == .detachEndpoints {
                kept.append(name)
            }
        }
        return (removed, kept)
    }

    // MARK: - Endpoints

    /// The node's endpoint, if it has one in the node's namespace at `namespacePath`.
    public func endpoint(node: String) throws(BerthError) -> EndpointRecord? {
        let id = Self.endpointID(lab: lab, node: node)
        let endpoint = try manager.store.read { tx throws(BerthError) in try tx.endpoint(id: id) }
        guard let endpoint, endpoint.namespacePath == NamespaceReference.name(id).path else { return nil }
        return endpoint
    }

    /// Joins a node to its network as the spec says, or takes it off: an endpoint on the
    /// same network, in the node's namespace as it is now, publishing what the spec asks,
    /// stays; any other is detached, and a missing one attached. Returns what changed.
    @discardableResult
    public func converge(_ node: NodeSpec, namespace: NamespaceIdentity?) throws(BerthError) -> [LabAction] {
        let existing = try endpoint(node: node.name)
        if let existing, let network = node.network, existing.network == network, existing.namespaceIdentity == namespace,
           Self.matches(existing.ports, node.publish) {
            return []
        }
        var actions: [LabAction] = []
        if existing != nil {
            try detach(node: node.name)
            actions.append(.detach(node: node.name))
        }
        if let network = node.network {
            try attach(node, network: network)
            actions.append(.attach(node: node.name, network: network))
        }
        return actions
    }

    /// Attaches the node's namespace to `network` with the node's published ports. `source`:
    /// the lab file the node came from, for a refused port's position (`publishError`).
    public func attach(_ node: NodeSpec, network: String, source: String? = nil) throws(BerthError) {
        let id = Self.endpointID(lab: lab, node: node.name)
        do {
            _ = try manager.attach(AttachOptions(network: network, namespace: .name(id), id: id,
                                                 interfaceName: try InterfaceName(Self.interfaceName), ports: node.publish))
        } catch where error.parameter == "ports" {
            throw publishError(error, node: node, source: source)
        } catch {
            throw error.with(object: .node(lab: lab, node.name), operation: .labUp)
        }
    }

    /// A published port the attach refused, said as the lab file's: at the `publish:` entry
    /// that asked for it (`FILE:LINE:COLUMN`, when the spec has positions), naming the node,
    /// and a host port another holds by its container's name when a container holds it
    /// (else the library's endpoint, by the short id `berth ps` shows). Parameter `publish`
    /// of the node; the hint says which entry to change.
    func publishError(_ error: BerthError, node: NodeSpec, source: String?) -> BerthError {
        let key = error.object?.kind == .port ? error.object?.name : nil
        let index = key.flatMap { Self.publishIndex(of: $0, in: node.publish) }
        var message = "node \(node.name): \(error.message)"
        // What to change, in the file's words, then the other way out the library gave.
        // The holder from the state, not from the library's words: its container by name,
        // else its endpoint by the short id; a host process is named by the message already.
        var hint = "choose another host port in node \(node.name)'s publish: entry"
        let holder = error.code == .conflict ? key.flatMap { try? Container.portHolder(of: $0, manager: manager) } : nil
        if let key, let index, let container = holder?.container, container.name != Self.endpointID(lab: lab, node: node.name) {
            message = "node \(node.name): port \(key) of published port \(node.publish[index]) is already published by container \(container.name)"
            hint += ", or stop container \(container.name)"
        } else if let endpoint = holder?.endpoint {
            hint += ", or detach endpoint \(EndpointShortID.display(endpoint)) first"
        } else if error.remedy != .chooseAnother(parameter: "ports"), let other = error.hint {
            hint = other
        }
        let location = index.flatMap { node.publishLocations.indices.contains($0) ? node.publishLocations[$0] : nil } ?? node.location
        if let source, let location { message = "\(source):\(location): " + message }
        return BerthError(error.code, message, hint: hint, object: .node(lab: lab, node.name), operation: .labUp, parameter: "publish",
                          remedy: error.code == .conflict ? .chooseAnother(parameter: "publish") : error.remedy, cause: error.cause)
    }

    /// The index of the entry of `publish` that asks for `key` (`tcp 0.0.0.0:8080`, `tcp
    /// [::]:8080`, as `PortKey` writes it): its protocol, a fixed host port range holding the port.
    static func publishIndex(of key: String, in publish: [PortSpec]) -> Int? {
        guard let key = PortKey(key) else { return nil }
        return publish.firstIndex { spec in
            guard spec.protocol == key.proto, let ports = spec.hostPorts else { return false }
            return ports.start <= key.hostPort && key.hostPort <= ports.end
        }
    }

    /// Detaches the node's endpoint, if it has one; idempotent.
    public func detach(node: String) throws(BerthError) {
        guard try endpoint(node: node) != nil else { return }
        try manager.detach(id: Self.endpointID(lab: lab, node: node))
    }

    /// Whether the published ports are what `specs` ask for: each mapping explained by a
    /// spec, and each container port of each spec published.
    static func matches(_ mappings: [PortMappingRecord], _ specs: [PortSpec]) -> Bool {
        func explains(_ spec: PortSpec, _ mapping: PortMappingRecord) -> Bool {
            guard spec.protocol == mapping.proto, spec.containerPorts.ports.contains(mapping.containerPort) else { return false }
            if let address = spec.hostAddress, address != mapping.hostAddress { return false }
            if spec.hostAddress == nil, !mapping.hostAddress.isUnspecified { return false }
            guard let hostPorts = spec.hostPorts else { return true }
            if hostPorts.count == spec.containerPorts.count {
                return Int(mapping.hostPort) - Int(hostPorts.start) == Int(mapping.containerPort) - Int(spec.containerPorts.start)
            }
            return hostPorts.ports.contains(mapping.hostPort)
        }
        guard mappings.allSatisfy({ mapping in specs.contains { explains($0, mapping) } }) else { return false }
        return specs.allSatisfy { spec in
            spec.containerPorts.ports.allSatisfy { port in mappings.contains { $0.containerPort == port && explains(spec, $0) } }
        }
    }
}
