#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Berth

/// A link that Berth's state says is in use — a network's bridge, the host end of an
/// endpoint's veth pair, or the interface inside an endpoint's namespace — which `link del`,
/// `link set --down|--nomaster|--move-to` and `addr del` would take from its owner behind
/// Berth's back (as `netns del` refuses a namespace its endpoints are in). Refused naming the
/// owner and what removes it, unless `--force`.
enum LinkOwnership {
    /// Refuses `action` (`delete it`, `set it down`, …) on link `name` in namespace `netns` (nil:
    /// berth's own), which `netlink` works in, when Berth's state uses it, unless `force`. Only
    /// a link of the kind the state says: a link of another kind holding a bridge's name is
    /// what `check` says to delete.
    static func refuse(_ action: String, link name: String, netns: String?, netlink: RouteNetlink, force: Bool, state: StateOption) throws(BerthError) {
        guard !force, let kind = try? netlink.link(named: name).kind, kind == .bridge || kind == .veth else { return }
        // Only a state that exists and opens is asked: a link command works without one (no
        // Berth on the host, or in a user namespace where root's state is nobody's), as
        // `ip link` does, and never makes one.
        let directory = StateStore.resolveDirectory(state.stateDir)
        guard access(directory + "/state.db", F_OK) == 0, let manager = try? state.manager() else { return }
        let given = try netns.map { text throws(BerthError) in try NetworkNamespace.open(nameOrPath: text).identity }
        let own = try NetworkNamespace.current().identity
        let inOwn = given == nil || given == own
        let override = "or add --force to \(action) anyway"
        if inOwn, kind == .bridge, let network = try manager.networks().first(where: { $0.bridge.rawValue == name }) {
            throw BerthError(.conflict, "link \(name) is the bridge of network \(network.name)",
                             hint: "remove the network with 'berth network rm \(network.name)', \(override)", object: .link(name, namespace: netns))
        }
        guard kind == .veth else { return }
        let endpoints = try manager.endpoints()
        let endpoint = endpoints.first { inOwn && $0.hostVeth.rawValue == name }
            ?? endpoints.first { given != nil && $0.namespaceIdentity == given && $0.interfaceName.rawValue == name }
        guard let endpoint else { return }
        let short = EndpointShortID.display(endpoint.id)
        let end = endpoint.hostVeth.rawValue == name && inOwn ? "the host end of" : "the interface of"
        // A `berth run` container's endpoint goes with its container, not by a detach.
        if let container = try Container.list(manager: manager).first(where: { $0.endpointID == endpoint.id && $0.status != .exited }) {
            throw BerthError(.conflict, "link \(name) is \(end) endpoint \(short) of container \(container.name) on network \(endpoint.network)",
                             hint: "stop the container with 'berth stop \(container.name)', \(override)", object: .link(name, namespace: netns))
        }
        throw BerthError(.conflict, "link \(name) is \(end) endpoint \(short) on network \(endpoint.network)",
                         hint: "detach the endpoint with 'berth detach \(short)', \(override)", object: .link(name, namespace: netns))
    }
}
