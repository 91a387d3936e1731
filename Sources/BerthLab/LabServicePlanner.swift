import BerthCore
import BerthNetwork

/// Plans what a lab needs beyond its namespaces and links: the Berth networks to create and
/// remove, the endpoints to attach and detach, the containers to start and stop. Pure: it
/// compares the spec with what was observed.
struct LabServicePlanner {
    let spec: LabSpec
    let observation: LabObservation
    /// The spec the running containers were started from, as far as the lab knows (the
    /// last applied one); nil restarts every container (after a crash the lab cannot tell).
    let previous: LabSpec?
    /// Declared networks that do not exist.
    let missingNetworks: [NetworkSpec]
    /// Networks the lab created.
    let createdNetworks: Set<String>

    /// Network creations, which come before the nodes are made.
    func networksFirst() -> [LabAction] {
        missingNetworks.map { .createNetwork($0) }
    }

    /// Endpoints and containers, once the nodes are wired, then networks no longer declared.
    func servicesLast() -> [LabAction] {
        var actions: [LabAction] = []
        for node in spec.nodes {
            let seen = observation.nodes[node.name]
            let endpoint = seen?.endpoint
            let keep = endpoint.map { endpoint in
                node.network == endpoint.network && endpoint.namespaceIdentity == seen?.identity
                    && LabNetworks.matches(endpoint.ports, node.publish)
            } ?? false
            if !keep {
                if endpoint != nil { actions.append(.detach(node: node.name)) }
                if let network = node.network { actions.append(.attach(node: node.name, network: network)) }
            }
        }
        for node in spec.nodes {
            let seen = observation.nodes[node.name]
            let container = seen?.container
            if let run = node.run {
                let running = container.map { container in
                    seen?.containerRunning == true && LabContainers.matches(container, run, startedWith: previous?.node(node.name)?.run)
                } ?? false
                if !running {
                    if container != nil { actions.append(.stopContainer(node: node.name)) }
                    actions.append(.startContainer(node: node.name))
                }
            } else if container != nil {
                actions.append(.stopContainer(node: node.name))
            }
        }
        let declared = Set(spec.networks.map(\.name))
        for network in createdNetworks.subtracting(declared).sorted() { actions.append(.removeNetwork(network)) }
        return actions
    }
}
