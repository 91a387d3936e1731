import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Makes sure the network's kernel objects exist — bridge (up, tagged, with its fixed MAC
    /// and the gateway address, no router advertisements), forwarding, firewall — and returns
    /// the bridge. Cheap when all is in place: one link lookup, or none when the caller
    /// looked the bridge up already under the same lock (`lookedUp`: the link, or nil for none).
    func ensureKernel(of network: NetworkRecord, instance: StateInstance, lookedUp: Link?? = nil) throws(BerthError) -> ReadyBridge {
        let existing: Link?
        if let lookedUp { existing = lookedUp } else { existing = try lookupLink(network.bridge) }
        // The fast path of every attach. Neither the gateway address nor the firewall is
        // re-read here (a dump each); `check` names what is missing and `reconcile` restores it.
        if let existing, isReady(existing, for: network, instance: instance) {
            return ReadyBridge(index: existing.index, hasIPv6: existing.hasIPv6)
        }
        // An attach has no way to report a warning: the host learns of IPv6 forwarding when
        // the network is created (or reconciled), which is where it was first turned on.
        var warnings: [HostWarning] = []
        return try prepareBridge(network, instance: instance, existing: existing, gatewayPresent: nil, installFirewall: true,
                                 warnings: &warnings)
    }

    /// The bridge an attach plugs its veth into: its index, and whether the kernel keeps IPv6
    /// state for it (`Link.hasIPv6`), which tells whether the host has IPv6 at all.
    struct ReadyBridge {
        var index: Int32
        var hasIPv6: Bool
        /// What this call turned forwarding on from (per sysctl key), for a caller whose
        /// later step fails after the call's own rollback scope has ended (a create's commit).
        var forwardingWas: [(key: String, value: String)] = []
    }

    /// The link called `name`, or nil.
    func lookupLink(_ name: InterfaceName) throws(BerthError) -> Link? {
        do {
            return try host.netlink.link(named: name.rawValue)
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// The bridge is up and, if Berth made it, carries the network's tag and MAC.
    func isReady(_ link: Link, for network: NetworkRecord, instance: StateInstance) -> Bool {
        guard link.kind == .bridge, link.isUp else { return false }
        if network.bridgeAdopted { return true }
        return link.mac == network.bridgeMAC && isTagged(link, by: network, instance: instance)
    }

    /// Whether `link`, a bridge holding the name of `network`'s bridge, is the one Berth made
    /// for it: it carries the network's tag or its fixed MAC (a tag cleared by hand), or, in a
    /// legacy store, no Berth tag at all (docs/networks.md). Anything else — another state
    /// directory's bridge, or one a program made after this network's was gone (a reboot takes
    /// every bridge) — is never taken over, re-tagged or deleted. An adopted bridge is the
    /// user's by design.
    func isOwnBridge(_ link: Link, for network: NetworkRecord, instance: StateInstance) -> Bool {
        if network.bridgeAdopted || isTagged(link, by: network, instance: instance) { return true }
        if let mac = network.bridgeMAC, link.mac == mac { return true }
        return instance.legacy && KernelNames.Tag(link.alias) == nil
    }

    /// The refusal of a bridge that holds `network`'s bridge name and is not its own.
    func foreignBridge(_ link: Link, of network: NetworkRecord) -> BerthError {
        BerthError(.conflict, "bridge \(network.bridge) of network \(network.name) is held by a bridge Berth did not make for it (\(Self.owner(of: link)))",
                   hint: "remove the network and create it again with another bridge name, or delete that bridge if nothing uses it",
                   object: .bridge(network.bridge.rawValue))
    }

    /// Who a bridge's tag says made it, in words.
    static func owner(of link: Link) -> String {
        guard KernelNames.Tag(link.alias) != nil, let alias = link.alias else { return "no Berth tag" }
        return "tagged \"\(alias)\""
    }

    /// Whether `link` carries the tag of `network` of `instance` (or, in a store made
    /// before instances, the network's tag without an id).
    func isTagged(_ link: Link, by network: NetworkRecord, instance: StateInstance) -> Bool {
        guard let tag = KernelNames.Tag(link.alias), tag.kind == .network, tag.owner == network.name else { return false }
        return tag.belongs(to: instance)
    }

    /// Brings the network's bridge to what the state says, from `existing` (the link of its
    /// name as last read; nil when there is none): a bridge Berth makes is created with its
    /// MAC and tag, or given them back; the gateway address is added when missing
    /// (`gatewayPresent`, or read here when nil); the bridge goes up; sysctls, forwarding and
    /// (with `installFirewall`) the network's rules are put in place. Returns its index and
    /// IPv6 state (from the lookup or the creation's echo);
    /// adds to `warnings` what turning IPv4 or IPv6 forwarding on changed for the host (an
    /// internal network turns neither on).
    ///
    /// An adopted bridge that is gone cannot be made again (it was never Berth's), and a
    /// link of another kind holding the name is refused, as is a bridge that is not the
    /// network's own (`isOwnBridge`) — unless `takingLeftover`: a create found it tagged by
    /// this instance for a network the state does not know (`checkOwnership`), a leftover it
    /// deletes, as `gc` would, and makes anew (what it carries — another network's gateway
    /// addresses and MTU, its ports — is not this network's). What this call added is taken
    /// back if a later step fails; corrections of a MAC or a tag are kept.
    func prepareBridge(_ network: NetworkRecord, instance: StateInstance, existing: Link?, gatewayPresent: Bool?,
                       installFirewall: Bool, takingLeftover: Bool = false, warnings: inout [HostWarning]) throws(BerthError) -> ReadyBridge {
        var existing = existing
        if takingLeftover, let leftover = existing, leftover.kind == .bridge {
            try host.netlink.deleteLink(.index(leftover.index))
            existing = nil
        }
        if let existing, existing.kind != .bridge {
            throw BerthError(.conflict, "link \(network.bridge) exists but is a \(existing.kind), not a bridge",
                             hint: "choose another bridge name, or delete that link", object: .link(network.bridge.rawValue),
                             parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
        }
        if let existing, !isOwnBridge(existing, for: network, instance: instance) {
            throw foreignBridge(existing, of: network)
        }
        if existing == nil, network.bridgeAdopted {
            throw BerthError(.notFound, "bridge \(network.bridge) of network \(network.name) is gone; it was adopted, not made by Berth, so Berth does not make it again",
                             hint: "create the bridge again, then reconcile", object: .bridge(network.bridge.rawValue))
        }
        let mtu = try network.linkMTU()
        let host = self.host
        return try Rollback.perform { rollback throws(BerthError) -> ReadyBridge in
            let bridge: Link
            if let existing {
                bridge = existing
            } else {
                bridge = try createBridge(network, instance: instance, mtu: mtu)
                rollback.add("delete bridge \(network.bridge)") { () throws(BerthError) in try host.netlink.deleteLink(.index(bridge.index)) }
            }
            try host.check(failPoint: "network.bridge")
            // None on an IPv6-only network.
            let gateway = try network.ipv4GatewayCIDR()
            let hasGateway: Bool
            if let gateway {
                if existing == nil {
                    hasGateway = false
                } else if let gatewayPresent {
                    hasGateway = gatewayPresent
                } else {
                    hasGateway = try host.netlink.addresses(of: .index(bridge.index), family: .ipv4).contains { $0.cidr == gateway }
                }
            } else {
                hasGateway = true
            }
            // The IPv6 gateway, with nodad so it answers at once. A bridge someone set down and
            // up has lost it (IPv6 addresses go with the link), so an existing one is re-read.
            let gateway6 = try network.ipv6GatewayCIDR()
            var hasGateway6 = gateway6 == nil
            if let gateway6, existing != nil {
                hasGateway6 = try host.netlink.addresses(of: .index(bridge.index), family: .ipv6).contains { $0.cidr == gateway6 }
            }
            if !network.bridgeAdopted {
                // IPv6 router advertisements on the bridge would let a container reconfigure
                // the host's view of the network; the key is absent when IPv6 is disabled.
                // Not on an adopted bridge: it may be the host's own link to its LAN.
                do throws(BerthError) {
                    try host.setSysctl("net/ipv6/conf/\(network.bridge)/accept_ra", to: "0")
                    // No DAD on the bridge, written before it is up (its link-local comes with
                    // the up or the first port's carrier): the host solicits the next hop of
                    // a packet it forwards (a published port's DNATed SYN) only from a
                    // link-local address that is not tentative, and sends nothing until DAD
                    // ends — 1-2 s, and past 3 s on a loaded host, when the connection fails
                    // with EHOSTUNREACH. Its only neighbours are containers (docs/ipv6.md).
                    if network.hasIPv6 { try host.setSysctl("net/ipv6/conf/\(network.bridge)/accept_dad", to: "0") }
                } catch where error.code == .notFound {}
                // Should the bridge's MAC ever change (a bridge made before fixed MACs gets
                // its own below), it announces the change, so containers update the
                // gateway's neighbour entry at once instead of after it goes stale.
                try host.setSysctl("net/ipv4/conf/\(network.bridge)/arp_notify", to: "1")
            }
            try host.netlink.apply { changes throws(BerthError) in
                if existing != nil, !network.bridgeAdopted {
                    if let mac = network.bridgeMAC, bridge.mac != mac { try changes.setMAC(.index(bridge.index), to: mac) }
                    if !isTagged(bridge, by: network, instance: instance) {
                        try changes.setAlias(.index(bridge.index), to: KernelNames.networkAlias(network.name, instance: instance.id))
                    }
                }
                if let gateway, !hasGateway { try changes.addAddress(gateway, to: .index(bridge.index)) }
                if !bridge.isUp { try changes.setUp(.index(bridge.index)) }
                // After the up: setting a link up never drops its IPv6 addresses, setting it
                // down does.
                if let gateway6, !hasGateway6 { try changes.addAddress(gateway6, to: .index(bridge.index), flags: .noDAD) }
            }
            if existing != nil {
                // Taken back from an existing bridge if a later step fails (a made one goes whole).
                if let gateway, !hasGateway {
                    rollback.add("remove address \(gateway) from \(network.bridge)") { () throws(BerthError) in
                        try host.netlink.deleteAddress(gateway, from: .index(bridge.index))
                    }
                }
                if let gateway6, !hasGateway6 {
                    rollback.add("remove address \(gateway6) from \(network.bridge)") { () throws(BerthError) in
                        try host.netlink.deleteAddress(gateway6, from: .index(bridge.index))
                    }
                }
                if !bridge.isUp {
                    rollback.add("set \(network.bridge) down") { () throws(BerthError) in try host.netlink.setDown(.index(bridge.index)) }
                }
            }
            try host.check(failPoint: "network.address")
            // An internal network routes nothing past its bridge: it needs no forwarding
            // (`forwardingKeys`), and turning IPv6 forwarding on would also stop the host
            // taking router advertisements on interfaces with accept_ra=1. What is turned on
            // here is turned back off if a later step fails.
            var forwardingWas: [(key: String, value: String)] = []
            if network.hasIPv4, !network.isInternal, let was = try enableIPv4Forwarding() {
                forwardingWas.append((Self.ipv4ForwardingKey, was))
                // The host routes from now on: worth saying when Berth is the one that made it.
                warnings.append(HostWarning(.ipv4ForwardingEnabled))
                rollback.add("set net.ipv4.ip_forward back to \(was)") { () throws(BerthError) in
                    guard try !self.otherInstancesHaveNetworks(instance) else { return }
                    _ = try host.setSysctl(Self.ipv4ForwardingKey, to: was)
                }
            }
            if network.hasIPv6, !network.isInternal {
                // Forwarding is decided by the interface a packet arrives on, and which ones
                // are uplinks is the host's business: `all`, as Docker does (docs/ipv6.md).
                var was: String?
                warnings += try enableIPv6Forwarding(turnedOnFrom: &was)
                if let was {
                    forwardingWas.append((Self.ipv6ForwardingKey, was))
                    rollback.add("set net.ipv6.conf.all.forwarding back to \(was)") { () throws(BerthError) in
                        guard try !self.otherInstancesHaveNetworks(instance) else { return }
                        _ = try host.setSysctl(Self.ipv6ForwardingKey, to: was)
                    }
                }
            }
            if installFirewall {
                // One read of Berth's table serves both what to add and what to take back
                // (read again once, after the generation, to upgrade an earlier Berth's).
                let firewall = try self.firewall(instance)
                let current = try firewall.table()
                let current6 = network.hasIPv6 ? try firewall.table6() : nil
                // What was in place as the batch that applied found it (another process may
                // have made a table since the read).
                let before = try firewall.installNetwork(network, current: current, current6: .some(current6))
                rollback.add("remove the firewall rules of network \(network.name)") { () throws(BerthError) in
                    try firewall.remove(network, addedSince: before)
                }
                try host.check(failPoint: "network.firewall")
            }
            if network.hasIPv4, !network.bridgeAdopted {
                // Lets the host reach ports published on 127.0.0.1: the DNATed packet leaves
                // through the bridge with source 127.0.0.1 before masquerade rewrites it. Only
                // on a bridge Berth made, never `all`/`default`, and after the network's rules
                // (the table's guard drops 127/8 arriving anywhere but lo). Never on an
                // adopted bridge: with it, the LAN that bridge carries would reach the
                // host's loopback services should the guard ever be flushed away
                // (CVE-2020-8558); a loopback publish is refused there instead.
                try host.setSysctl("net/ipv4/conf/\(network.bridge)/route_localnet", to: "1")
            }
            return ReadyBridge(index: bridge.index, hasIPv6: bridge.hasIPv6, forwardingWas: forwardingWas)
        }
    }

    /// Creates the bridge with its fixed MAC and, in the same `sendmsg`, its tag: the kernel
    /// handles both before the call returns, so no crash can leave a bridge without its tag
    /// (one `gc` could not attribute).
    private func createBridge(_ network: NetworkRecord, instance: StateInstance, mtu: UInt32) throws(BerthError) -> Link {
        let tag = KernelNames.networkAlias(network.name, instance: instance.id)
        do {
            let echoed = try host.netlink.apply { changes throws(BerthError) in
                try changes.createBridge(named: network.bridge, mtu: mtu, mac: network.bridgeMAC)
                try changes.setAlias(.name(network.bridge), to: tag)
            }
            if let link = echoed.first(where: { $0.name == network.bridge.rawValue }) { return link }
            return try host.netlink.link(named: network.bridge.rawValue)
        } catch where error.code == .alreadyExists {
            // Another process made a link of this name since it was looked up, and the alias
            // message may have tagged it: take our tag off what is not ours.
            if let raced = try? host.netlink.link(named: network.bridge.rawValue), raced.alias == tag, raced.mac != network.bridgeMAC {
                try? host.netlink.setAlias(.index(raced.index), to: nil)
            }
            throw BerthError(.conflict, "bridge \(network.bridge) was created by another process meanwhile",
                             hint: "choose another bridge name, or try again", object: .bridge(network.bridge.rawValue),
                             parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"), cause: error)
        }
    }
}

extension NetworkRecord {
    /// The bridge's IPv4 address with the subnet's prefix length; nil on an IPv6-only network.
    func ipv4GatewayCIDR() throws(BerthError) -> CIDR? {
        guard let (subnet, gateway) = ipv4 else { return nil }
        return try CIDR(address: .v4(gateway), prefixLength: subnet.prefixLength)
    }

    /// The bridge's IPv6 address with the subnet's prefix length; nil on an IPv4-only network.
    func ipv6GatewayCIDR() throws(BerthError) -> CIDR? {
        guard let subnet = ipv6Subnet, let gateway = ipv6Gateway else { return nil }
        return try CIDR(address: .v6(gateway), prefixLength: subnet.prefixLength)
    }

    /// The MTU as the kernel takes it. Checked, because a record changed outside Berth may
    /// hold anything: a bad one is an error naming the network, never a trap.
    func linkMTU() throws(BerthError) -> UInt32 {
        guard NetworkOptions.mtuRange.contains(mtu) else {
            throw BerthError(.state, "network \(name) has MTU \(mtu) in the state, outside \(NetworkOptions.mtuRange.lowerBound)–\(NetworkOptions.mtuRange.upperBound)",
                             hint: "remove the network and create it again", object: .network(name))
        }
        return UInt32(mtu)
    }
}
