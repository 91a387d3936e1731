import BerthCore

/// Host sockets that bound a published port after it was published. An attach refuses a
/// port a host process holds, but nothing stops a process binding it later, and Berth,
/// daemonless, holds no socket of its own (Docker's docker-proxy does, so the late bind
/// fails there): the DNAT runs before any socket is looked up, so the container keeps the
/// traffic and the process's socket gets none of it, without an error. `check` names them.
extension NetworkManager {
    /// One problem per published key of `endpoints` that a host socket also holds (by the
    /// same rules as the attach's refusal, `HostListeners.conflict`). Reads the host's
    /// sockets once per protocol, and only for protocols some endpoint publishes; SCTP
    /// sockets are not listed by sock_diag here.
    func shadowedListenerProblems(_ endpoints: [EndpointRecord]) throws(BerthError) -> [CheckProblem] {
        var lists: [HostListeners] = []
        var problems: [CheckProblem] = []
        for endpoint in endpoints where !endpoint.isDetaching {
            for mapping in endpoint.ports where mapping.key.proto != .sctp {
                let listeners: HostListeners
                if let read = lists.first(where: { $0.proto == mapping.key.proto }) {
                    listeners = read
                } else {
                    listeners = try HostListeners.read(from: host, proto: mapping.key.proto)
                    lists.append(listeners)
                }
                guard let hit = listeners.conflict(proto: mapping.key.proto, address: mapping.key.hostAddress, port: mapping.key.hostPort) else { continue }
                let owner = host.socketOwner(inode: hit.inode) ?? "a process (socket inode \(hit.inode))"
                problems.append(CheckProblem(endpoint: endpoint.id, network: endpoint.network, object: "port \(mapping.key)",
                                             problem: "also bound on the host by \(owner), whose socket gets none of its traffic (the container's DNAT comes first)",
                                             repair: .stopHostListener))
            }
        }
        return problems
    }
}
