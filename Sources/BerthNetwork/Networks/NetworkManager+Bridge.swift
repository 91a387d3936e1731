import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Makes sure the network's kernel objects exist — bridge (up, tagged, with the gateway
    /// address, no router advertisements), forwarding, firewall — and returns the bridge's
    /// index. Cheap when all is in place: one link lookup.
    func ensureKernel(of network: NetworkRecord) throws(BerthError) -> Int32 {
        let existing: Link?
        do throws(BerthError) {
            existing = try host.netlink.link(named: network.bridge.rawValue)
        } catch where error.code == .notFound {
            existing = nil
        }
        return try ensureKernel(of: network, bridge: existing, installFirewall: true)
    }

    /// `ensureKernel(of:)` with the bridge as the caller last read it (nil: no link of that
    /// name), so a caller that listed every link does not look each one up again.
    /// `installFirewall` false leaves Berth's nftables to the caller (reconcile rebuilds the
    /// whole table afterwards).
    ///
    /// An existing link of the bridge's name is adopted if it is a bridge (EEXIST after a
    /// race or a crash is fine); anything else is refused. Objects this call created are
    /// removed again if a later step fails.
    func ensureKernel(of network: NetworkRecord, bridge existing: Link?, installFirewall: Bool) throws(BerthError) -> Int32 {
        if let existing {
            guard existing.kind == .bridge else {
                throw BerthError(.conflict, "link \(network.bridge) exists but is a \(existing.kind), not a bridge",
                                 hint: "choose another bridge name, or delete that link", object: .link(network.bridge.rawValue),
                                 parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
            }
            // The fast path of every attach. The firewall is not re-read here (a dump per
            // attach); after an `nft flush ruleset`, reconciling puts it back.
            if existing.isUp, KernelNames.networkName(fromAlias: existing.alias) == network.name {
                return existing.index
            }
        }
        let mtu = try network.linkMTU()
        let host = self.host
        return try Rollback.perform { rollback throws(BerthError) -> Int32 in
            let bridge: Link
            var created = false
            if let existing {
                bridge = existing
            } else {
                do throws(BerthError) {
                    bridge = try host.netlink.createBridge(named: network.bridge, mtu: mtu)
                    created = true
                    rollback.add("delete bridge \(network.bridge)") { () throws(BerthError) in try host.netlink.deleteLink(.index(bridge.index)) }
                } catch where error.code == .alreadyExists {
                    bridge = try host.netlink.link(named: network.bridge.rawValue)
                    guard bridge.kind == .bridge else {
                        throw BerthError(.conflict, "link \(network.bridge) exists but is not a bridge", hint: "choose another bridge name",
                                         object: .link(network.bridge.rawValue), parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
                    }
                }
            }
            try host.check(failPoint: "network.bridge")
            let gateway = try CIDR(address: .v4(network.gateway), prefixLength: network.subnet.prefixLength)
            let hasGateway = created ? false : try host.netlink.addresses(of: .index(bridge.index), family: .ipv4).contains { $0.cidr == gateway }
            // IPv6 router advertisements on the bridge would let a container reconfigure the
            // host's view of the network; the key is absent when IPv6 is disabled.
            do throws(BerthError) {
                try host.setSysctl("net/ipv6/conf/\(network.bridge)/accept_ra", to: "0")
            } catch where error.code == .notFound {}
            try host.netlink.apply { changes throws(BerthError) in
                try changes.setAlias(.index(bridge.index), to: KernelNames.networkAlias(network.name))
                if !hasGateway { try changes.addAddress(gateway, to: .index(bridge.index)) }
                try changes.setUp(.index(bridge.index))
            }
            try host.check(failPoint: "network.address")
            // Lets the host reach ports published on 127.0.0.1: the DNATed packet leaves
            // through the bridge with source 127.0.0.1 before masquerade rewrites it. Only
            // on Berth's bridge, never `all`/`default`; the firewall's guard drops 127/8
            // arriving anywhere but lo.
            try host.setSysctl("net/ipv4/conf/\(network.bridge)/route_localnet", to: "1")
            try host.setSysctl("net/ipv4/ip_forward", to: "1")
            if installFirewall {
                // One read of Berth's table serves both what to add and what to take back.
                let firewall = try self.firewall
                let current = try firewall.table()
                let before = Firewall.Presence(of: network, in: current)
                try firewall.installNetwork(network, current: current)
                rollback.add("remove the firewall rules of network \(network.name)") { () throws(BerthError) in
                    try firewall.remove(network, addedSince: before)
                }
                try host.check(failPoint: "network.firewall")
            }
            return bridge.index
        }
    }
}

extension NetworkRecord {
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
