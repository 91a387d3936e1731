import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Creates the veth pair and configures its peer inside `namespace`; registers the
    /// pair's removal with `rollback` once it exists. Returns the host end as the kernel
    /// echoed its creation, or as a lookup finds it on a kernel that echoes nothing.
    /// `routes` (`AttachOptions.routes`) go on the peer in the batch of its addresses, each
    /// after its family's address.
    func wire(_ endpoint: EndpointRecord, network: NetworkRecord, instance: StateInstance, bridge: ReadyBridge, namespace: NetworkNamespace,
              routes: [AttachOptions.Route] = [], rollback: inout Rollback) throws(BerthError) -> Link {
        let mtu = try network.linkMTU()
        let hostLink: Link
        do throws(BerthError) {
            let echoed = try host.netlink.apply { changes throws(BerthError) in
                try changes.createVeth(named: endpoint.hostVeth, peer: endpoint.interfaceName, peerNamespace: namespace,
                                       master: .index(bridge.index), up: true, mtu: mtu, peerMAC: endpoint.mac)
                // In the same sendmsg as the creation: no crash can leave the veth untagged.
                // With it, when the host has IPv6 for the link, addrgenmode none: no link-local
                // address on the host end (a bridge port needs none), set before the peer comes
                // up and gives it carrier. Each link-local address adds routes to the host's
                // IPv6 tables, and the kernel walks all of them whenever a link without
                // carrier changes — as this message changes the new veth — so with link-local
                // host ends every attach grew with the number of endpoints (docs/performance.md,
                // perf8). In the alias's message, not one of its own: that would be a second
                // change and a second walk. Dual stack proved IPv6 when the network was made;
                // an IPv4-only network asks the bridge, as the kernel refuses the whole message
                // on a link without IPv6 state (ipv6.disable=1, or an MTU below 1,280).
                let ipv6State = network.hasIPv6 || (bridge.hasIPv6 && mtu >= Self.minimumIPv6MTU)
                try changes.setAlias(.name(endpoint.hostVeth), to: KernelNames.endpointAlias(endpoint.id, instance: instance.id),
                                     addressGenerationMode: ipv6State ? AddressGenerationMode.none : nil)
                try changes.setHairpin(.name(endpoint.hostVeth), true)
            }
            // Kernels before 6.1 ignore NLM_F_ECHO on RTM_NEWLINK (Ubuntu 22.04's 5.15, RHEL
            // 9's 5.14): the veth is then looked up by name, one round trip more.
            if let link = echoed.first(where: { $0.name == endpoint.hostVeth.rawValue }) {
                hostLink = link
            } else {
                hostLink = try host.netlink.link(named: endpoint.hostVeth.rawValue)
            }
        } catch where error.code == .alreadyExists {
            untagClash(endpoint, instance: instance, bridge: bridge)
            throw explainVethClash(endpoint, namespace: namespace, cause: error)
        } catch {
            // The kernel goes on after a refused message: a refusal of the alias or hairpin
            // leaves the veth made by the first one — and a creation refused otherwise (no
            // memory, a limit) lets them run on a link of that name someone else has.
            removeFailedVeth(endpoint, instance: instance, bridge: bridge)
            throw error
        }
        let host = self.host
        rollback.add("delete veth \(endpoint.hostVeth)") { () throws(BerthError) in try host.netlink.deleteLink(.index(hostLink.index)) }
        try host.check(failPoint: "attach.veth")
        if network.hasIPv6 {
            // A bridge port's frames go to the bridge; this keeps the port itself deaf to
            // router advertisements all the same.
            try host.setSysctl("net/ipv6/conf/\(endpoint.hostVeth)/accept_ra", to: "0")
        }
        // Before the interface is up, on the thread that opens the socket in the namespace:
        // on an IPv4-only network the interface gets no IPv6 at all, not even a link-local
        // address, and ignores router advertisements (CVE-2024-32473 class); on a dual-stack
        // one it takes no SLAAC address or route from a rogue advertisement (CVE-2020-13401).
        let ipv6Key = "net/ipv6/conf/\(endpoint.interfaceName)/"
        let sysctls = network.hasIPv6
            ? [SysctlWrite(ipv6Key + "accept_ra", "0")]
            : [SysctlWrite(ipv6Key + "disable_ipv6", "1", skipIfMissing: true)]
        let inside = try host.netlink(in: namespace, writing: sysctls)
        let peerIndex: Int32
        if let index = hostLink.peerIndex {
            peerIndex = index
        } else {
            peerIndex = try inside.link(named: endpoint.interfaceName.rawValue).index
        }
        // None on an IPv6-only network: no IPv4 address, no IPv4 route.
        let ipv4: (cidr: CIDR, gateway: IPv4Address)? = if let address = endpoint.address, let (subnet, gateway) = network.ipv4 {
            (try CIDR(address: .v4(address), prefixLength: subnet.prefixLength), gateway)
        } else {
            nil
        }
        let ipv6: (cidr: CIDR, gateway: IPv6Address)? = if let address6 = endpoint.ipv6Address, let subnet6 = network.ipv6Subnet,
                                                           let gateway6 = network.ipv6Gateway {
            (try CIDR(address: .v6(address6), prefixLength: subnet6.prefixLength), gateway6)
        } else {
            nil
        }
        do throws(BerthError) {
            try inside.apply { changes throws(BerthError) in
                try changes.setUp(.index(Self.loopbackIndex))
                try changes.setUp(.index(peerIndex))
                if let ipv4 {
                    try changes.addAddress(ipv4.cidr, to: .index(peerIndex))
                    // Like Docker, the first network keeps the default route of a namespace
                    // attached to several; this one waits behind it.
                    try changes.addRoute(to: nil, via: .v4(ipv4.gateway), device: .index(peerIndex), appendIfExists: true)
                }
                // Not exclusive: a route the namespace has already (the subnet's own connected
                // route, another network's same route) keeps precedence, this one behind it
                // (IPv4) or left out (IPv6, where an append would join the two into one
                // multipath route), rather than failing the attach.
                for route in routes where route.destination.family == .ipv4 {
                    try changes.addRoute(to: route.destination, via: route.gateway, device: .index(peerIndex), appendIfExists: true)
                }
                if let ipv6 {
                    // After the up (a down drops IPv6 addresses), nodad: usable at once.
                    try changes.addAddress(ipv6.cidr, to: .index(peerIndex), flags: .noDAD)
                }
                // Before the IPv6 default route, which may be refused with the rest applied.
                for route in routes where route.destination.family == .ipv6 {
                    try changes.addRoute(to: route.destination, via: route.gateway, device: .index(peerIndex), keepIfExists: true)
                }
                if let ipv6 {
                    // Last: refused (EEXIST) when the namespace has an IPv6 default route at
                    // the kernel's default metric already, everything before it applied.
                    try changes.addRoute(to: nil, via: .v6(ipv6.gateway), device: .index(peerIndex))
                }
            }
        } catch where error.code == .alreadyExists && error.object?.kind == .route && error.object?.name == "default" {
            guard let ipv6 else { throw error }
            try addIPv6DefaultRouteBehind(via: ipv6.gateway, device: peerIndex, inside: inside)
        }
        try host.check(failPoint: "attach.configure")
        return hostLink
    }

    /// The IPv6 default route of a namespace's further network, behind those it has (another
    /// network's, or anyone's): at the metric after the highest of theirs, as IPv4's appended
    /// route waits behind the first. Not appended at their metric: the kernel would join the
    /// two into one multipath route over both networks (docs/ipv6.md). At a metric of its own
    /// it is a route of its own, which takes over when the one before it goes with its
    /// network's interface (a detach) — kept, the first network's route would leave the
    /// namespace without IPv6 egress then. One route dump, only when the kernel's default
    /// metric is taken (a network attached once the first is gone finds it free, and its
    /// route goes first).
    private func addIPv6DefaultRouteBehind(via gateway: IPv6Address, device: Int32, inside: RouteNetlink) throws(BerthError) {
        let metrics = try inside.routes(family: .ipv6).filter { $0.isDefault && $0.type == .unicast }.map { $0.metric ?? Self.defaultIPv6Metric }
        let highest = min(metrics.max() ?? Self.defaultIPv6Metric, UInt32.max - 1)
        try inside.addRoute(to: nil, via: .v6(gateway), device: .index(device), metric: highest + 1)
    }

    /// The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER).
    static let defaultIPv6Metric: UInt32 = 1024

    /// IPv6's minimum link MTU: the kernel keeps no IPv6 state for a smaller one.
    static let minimumIPv6MTU: UInt32 = 1280

    /// Loopback is the first device of every network namespace.
    static let loopbackIndex: Int32 = 1

    /// After the veth's batch failed otherwise than on the host end's name: deletes the
    /// veth if its creation went through — a veth on this network's bridge, as every pair
    /// this instance makes is enslaved in its creation message. A refused creation leaves
    /// nothing: the kernel unregisters a link it made when a later part of the same message
    /// (the master, the flags) fails, so it cannot leave our veth off the bridge. Only
    /// someone taking it off the bridge in between could; such a link cannot be told from
    /// another's, and is left as one, untagged: a leftover by hand, never a deletion of
    /// someone else's link. Anything else of that name is not ours: it is never deleted,
    /// and our tag, which the batch's alias message may have put on it, comes off
    /// (`untagClash`). Best effort, on the failure path only.
    private func removeFailedVeth(_ endpoint: EndpointRecord, instance: StateInstance, bridge: ReadyBridge) {
        guard let link = try? host.netlink.link(named: endpoint.hostVeth.rawValue) else { return }
        if link.kind == .veth, link.masterIndex == bridge.index {
            try? host.netlink.deleteLink(.index(link.index))
        } else {
            untagClash(endpoint, instance: instance, bridge: bridge)
        }
    }

    /// After a creation refused because a link already has the host end's name: the kernel
    /// went on with the batch, so the alias (and hairpin) messages, which name the host end,
    /// changed that link. One that is not a veth on this network's bridge is not a pair this
    /// instance made (every such pair is enslaved in its creation message), so our tag comes
    /// off it again — else `gc` would delete someone else's veth as a leftover. Its former
    /// alias cannot be put back (it was not read: that would cost every attach a round
    /// trip), nor its hairpin setting if it is a port of another bridge. Best effort, on the
    /// failure path only.
    private func untagClash(_ endpoint: EndpointRecord, instance: StateInstance, bridge: ReadyBridge) {
        let tag = KernelNames.endpointAlias(endpoint.id, instance: instance.id)
        guard let clash = try? host.netlink.link(named: endpoint.hostVeth.rawValue), clash.alias == tag,
              !(clash.kind == .veth && clash.masterIndex == bridge.index) else { return }
        try? host.netlink.setAlias(.index(clash.index), to: nil)
    }

    /// Tells which name clashed when the veth could not be created.
    private func explainVethClash(_ endpoint: EndpointRecord, namespace: NetworkNamespace, cause: BerthError) -> BerthError {
        if let inside = try? host.netlink(in: namespace), (try? inside.link(named: endpoint.interfaceName.rawValue)) != nil {
            return BerthError(.alreadyExists, "interface \(endpoint.interfaceName) already exists in network namespace \(namespace)",
                              hint: "choose another interface name", object: .link(endpoint.interfaceName.rawValue),
                              parameter: "interfaceName", remedy: .chooseAnother(parameter: "interfaceName"))
        }
        return BerthError(.alreadyExists, "host veth \(endpoint.hostVeth) of endpoint \(endpoint.id) already exists (a leftover of a crash?)",
                          hint: "remove leftovers with garbage collection", object: .link(endpoint.hostVeth.rawValue),
                          remedy: .collectGarbage, cause: cause)
    }
}
