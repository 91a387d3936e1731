public import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNFTables

extension NetworkManager {
    /// Creates a network: its record, its bridge with the gateway address, forwarding, and
    /// (unless internal) outbound masquerade. Nothing is left behind if a step fails.
    @discardableResult
    public func createNetwork(_ options: NetworkOptions) throws(BerthError) -> NetworkRecord {
        try NetworkOptions.validate(name: options.name)
        if let mtu = options.mtu, !(68...65535).contains(mtu) {
            throw .invalid("invalid MTU \(mtu)", hint: "use an MTU from 68 to 65535")
        }
        return try store.write { tx throws(BerthError) -> NetworkRecord in
            if try tx.network(named: options.name) != nil {
                throw BerthError(.alreadyExists, "network \(options.name) already exists",
                                 hint: "choose another name or remove it with 'berth network rm \(options.name)'")
            }
            let others = try tx.networks()
            let id = RecordID.generate()
            let bridge = if let given = options.bridge { given } else { try KernelNames.defaultBridge(network: options.name, id: id) }
            if let holder = others.first(where: { $0.bridge == bridge }) {
                throw BerthError(.conflict, "bridge \(bridge) already carries network \(holder.name)", hint: "choose another --bridge")
            }
            let taken = try takenSubnets(networks: others)
            let subnet: CIDR
            if let requested = options.subnet {
                guard requested.family == .ipv4 else {
                    throw .invalid("subnet \(requested) is not IPv4", hint: "give an IPv4 subnet such as 172.30.0.0/16")
                }
                try SubnetPool.check(requested, against: taken)
                subnet = requested
            } else {
                subnet = try SubnetPool.pick(avoiding: taken)
            }
            let gateway = if let given = options.gateway { given } else { try IPAM.defaultGateway(for: subnet) }
            try IPAM.validate(subnet: subnet, gateway: gateway)
            let record = NetworkRecord(name: options.name, id: id, bridge: bridge, subnet: subnet, gateway: gateway,
                                       mtu: options.mtu ?? 1500, isInternal: options.isInternal, created: StateClock.now())
            try tx.insertNetwork(record)
            _ = try ensureKernel(of: record)
            return record
        }
    }

    /// Removes a network with no endpoints: its bridge, its nftables objects and its record.
    public func removeNetwork(named name: String) throws(BerthError) {
        try store.write { tx throws(BerthError) in
            let network = try tx.requireNetwork(named: name)
            let attached = try tx.endpoints(network: name)
            if !attached.isEmpty {
                let ids = attached.prefix(5).map { String($0.id.prefix(12)) }.joined(separator: ", ")
                let more = attached.count > 5 ? " and \(attached.count - 5) more" : ""
                throw BerthError(.conflict, "network \(name) has \(attached.count) endpoint(s) attached: \(ids)\(more)",
                                 hint: "detach them first with 'berth detach ID'")
            }
            try firewall.removeNetwork(network)
            do throws(BerthError) {
                try host.deleteLink(.name(network.bridge))
            } catch where error.code == .notFound {
                // Already gone (deleted by hand or by a reboot): removing the record is all that is left.
            }
            _ = try tx.deleteNetwork(named: name)
        }
    }

    /// Every network, by name.
    public func networks() throws(BerthError) -> [NetworkRecord] {
        try store.read { tx throws(BerthError) in try tx.networks() }
    }

    /// One network.
    public func network(named name: String) throws(BerthError) -> NetworkRecord {
        try store.read { tx throws(BerthError) in try tx.requireNetwork(named: name) }
    }

    /// Makes sure the network's kernel objects exist — bridge (up, tagged, with the gateway
    /// address, no router advertisements), forwarding, firewall — and returns the bridge's
    /// index. Cheap when all is in place: one link lookup.
    ///
    /// An existing link of the bridge's name is adopted if it is a bridge (EEXIST after a
    /// race or a crash is fine); anything else is refused. Objects this call created are
    /// removed again if a later step fails.
    func ensureKernel(of network: NetworkRecord) throws(BerthError) -> Int32 {
        let existing: Link?
        do throws(BerthError) {
            existing = try host.link(named: network.bridge.rawValue)
        } catch where error.code == .notFound {
            existing = nil
        }
        if let existing {
            guard existing.kind == .bridge else {
                throw BerthError(.conflict, "link \(network.bridge) exists but is a \(existing.kind), not a bridge",
                                 hint: "choose another --bridge or delete the link")
            }
            // The fast path of every attach. The firewall is not re-read here (a dump per
            // attach); after an `nft flush ruleset`, `berth reconcile` puts it back.
            if existing.isUp, KernelNames.networkName(fromAlias: existing.alias) == network.name {
                return existing.index
            }
        }
        var created: Link?
        var firewallBefore: FirewallPresence?
        do throws(BerthError) {
            let bridge: Link
            if let existing {
                bridge = existing
            } else {
                do throws(BerthError) {
                    bridge = try host.createBridge(named: network.bridge, mtu: UInt32(network.mtu))
                    created = bridge
                } catch where error.code == .alreadyExists {
                    bridge = try host.link(named: network.bridge.rawValue)
                    guard bridge.kind == .bridge else {
                        throw BerthError(.conflict, "link \(network.bridge) exists but is not a bridge", hint: "choose another --bridge")
                    }
                }
            }
            try FailPoint.check("network.bridge")
            let gateway = try CIDR(address: .v4(network.gateway), prefixLength: network.subnet.prefixLength)
            let hasGateway = created == nil
                ? try host.addresses(of: .index(bridge.index), family: .ipv4).contains { $0.cidr == gateway }
                : false
            // IPv6 router advertisements on the bridge would let a container reconfigure the
            // host's view of the network; the key is absent when IPv6 is disabled.
            do throws(BerthError) {
                try hostNamespace.setSysctl("net/ipv6/conf/\(network.bridge)/accept_ra", to: "0")
            } catch where error.code == .notFound {}
            try host.apply { changes throws(BerthError) in
                try changes.setAlias(.index(bridge.index), to: KernelNames.networkAlias(network.name))
                if !hasGateway { try changes.addAddress(gateway, to: .index(bridge.index)) }
                try changes.setUp(.index(bridge.index))
            }
            try FailPoint.check("network.address")
            // Lets the host reach ports published on 127.0.0.1: the DNATed packet leaves
            // through the bridge with source 127.0.0.1 before masquerade rewrites it. Only
            // on Berth's bridge, never `all`/`default`; the firewall's guard drops 127/8
            // arriving anywhere but lo.
            try hostNamespace.setSysctl("net/ipv4/conf/\(network.bridge)/route_localnet", to: "1")
            try hostNamespace.setSysctl("net/ipv4/ip_forward", to: "1")
            firewallBefore = try firewallPresence(of: network)
            try firewall.installNetwork(network)
            try FailPoint.check("network.firewall")
            return bridge.index
        } catch {
            if let firewallBefore { try? removeFirewall(of: network, addedSince: firewallBefore) }
            if let created { try? host.deleteLink(.index(created.index)) }
            throw error
        }
    }

    /// What of Berth's nftables a network found in place before its kernel objects were
    /// made, so a failure takes back exactly what was added: the whole table if it is new,
    /// else the network's rules if they are new, else nothing (they belong to the network).
    struct FirewallPresence {
        var hasTable: Bool
        var hasNetworkRules: Bool
    }

    /// One dump; only the slow path of `ensureKernel` (a missing or untagged bridge) pays it.
    private func firewallPresence(of network: NetworkRecord) throws(BerthError) -> FirewallPresence {
        guard let table = try firewall.backend.list().table(FirewallLayout.table.family, FirewallLayout.table.name) else {
            return FirewallPresence(hasTable: false, hasNetworkRules: false)
        }
        let tag = FirewallLayout.networkTag(network.name)
        return FirewallPresence(hasTable: true, hasNetworkRules: table.chains.flatMap(\.rules).contains { $0.comment == tag })
    }

    private func removeFirewall(of network: NetworkRecord, addedSince before: FirewallPresence) throws(BerthError) {
        if !before.hasTable {
            var transaction = Transaction()
            transaction.delete(.table(FirewallLayout.table))
            try firewall.backend.apply(transaction)
        } else if !before.hasNetworkRules {
            try firewall.removeNetwork(network)
        }
    }

    /// Subnets a new network must not overlap: host routes and addresses, other networks.
    func takenSubnets(networks: [NetworkRecord]) throws(BerthError) -> [TakenSubnet] {
        var taken = networks.map { TakenSubnet($0.subnet, label: "network \($0.name)") }
        let links = Dictionary(try host.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        for route in try host.routes(family: .ipv4) where !route.isDefault {
            guard let destination = route.destination else { continue }
            let device = route.linkIndex.flatMap { links[$0] }.map { " dev \($0)" } ?? ""
            taken.append(TakenSubnet(destination.network, label: "route \(destination.network)\(device)"))
        }
        for address in try host.addresses(family: .ipv4) where !address.cidr.address.isLoopback {
            let device = links[address.linkIndex].map { " on \($0)" } ?? ""
            taken.append(TakenSubnet(address.cidr.network, label: "address \(address.cidr)\(device)"))
        }
        return taken
    }
}
