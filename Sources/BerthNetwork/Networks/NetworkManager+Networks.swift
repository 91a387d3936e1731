public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Creates a network: its record, its bridge with the gateway address, forwarding, and
    /// (unless internal) outbound masquerade. Nothing is left behind if a step fails.
    @discardableResult
    public func createNetwork(_ options: NetworkOptions) throws(BerthError) -> NetworkRecord {
        var warnings: [HostWarning] = []
        return try createNetwork(options, warnings: &warnings)
    }

    /// `createNetwork`, adding to `warnings` what the new network changed for the host
    /// beyond Berth's objects (IPv6 forwarding turned on while an interface relies on
    /// router advertisements), for the caller to show its user.
    @discardableResult
    public func createNetwork(_ options: NetworkOptions, warnings: inout [HostWarning]) throws(BerthError) -> NetworkRecord {
        do {
            return try makeNetwork(options, warnings: &warnings)
        } catch {
            throw error.with(object: .network(options.name), operation: .createNetwork)
        }
    }

    private func makeNetwork(_ options: NetworkOptions, warnings: inout [HostWarning]) throws(BerthError) -> NetworkRecord {
        try NetworkOptions.validate(name: options.name)
        try NetworkOptions.refuseReserved(name: options.name)
        if let mtu = options.mtu, !NetworkOptions.mtuRange.contains(mtu) {
            throw .invalid("invalid MTU \(mtu)", hint: "use an MTU from 68 to 65535", parameter: "mtu")
        }
        for upstream in options.dnsUpstreams { try NetworkOptions.validate(dnsUpstream: upstream) }
        if options.dnsUpstreams.count > NetworkOptions.maxDNSUpstreams {
            // The resolver asks the first three, as glibc's resolver does: a fourth would be
            // taken and never used.
            throw .invalid("\(options.dnsUpstreams.count) DNS upstreams: a network's resolver asks at most \(NetworkOptions.maxDNSUpstreams)",
                           hint: "give at most \(NetworkOptions.maxDNSUpstreams) upstreams", parameter: "dnsUpstream")
        }
        if options.usesExistingBridge, options.bridge == nil {
            throw BerthError(.invalidArgument, "using an existing bridge needs the bridge's name", hint: "name the bridge",
                             parameter: "bridge", remedy: .give(parameter: "bridge"))
        }
        if !options.ipv4 {
            try Self.checkIPv6Only(options)
        }
        try Self.refuseGatewayWithoutSubnet(options)
        try Self.refuseRangesWithoutSubnet(options)
        if options.wantsIPv6, let mtu = options.mtu, mtu < Self.minimumIPv6MTU {
            // The kernel keeps no IPv6 state on a link under 1,280: the IPv6 gateway's address
            // would be refused with a bare EINVAL after the bridge was made.
            throw BerthError(.invalidArgument, "network \(options.name) has IPv6: MTU \(mtu) is under IPv6's minimum of 1280",
                             hint: options.ipv4 ? "use an MTU of 1280 or more, or leave IPv6 off" : "use an MTU of 1280 or more",
                             object: .network(options.name), parameter: "mtu")
        }
        if options.usesExistingBridge, options.wantsIPv6 {
            // An adopted bridge may be the host's own LAN link: its IPv6 sysctls and
            // addresses are its owner's, and Berth does not yet know how to share them.
            throw BerthError(.unsupported, "an existing bridge cannot carry an IPv6 network yet",
                             hint: "let Berth make the bridge, or create the network without IPv6", object: .bridge(options.bridge?.rawValue ?? ""),
                             parameter: "ipv6")
        }
        return try store.write { tx throws(BerthError) -> NetworkRecord in
            let instance = try tx.instance()
            if let existing = try tx.network(named: options.name) {
                guard existing.phase != .ready else {
                    throw BerthError(.alreadyExists, "network \(options.name) already exists", hint: "choose another name, or remove that network first",
                                     object: .network(options.name), parameter: "name", remedy: .chooseAnother(parameter: "name"))
                }
                // A create or removal of this name was interrupted: finish it as a removal
                // (committed with the new record below), then create anew.
                try finishRemoval(of: existing, tx: tx, instance: instance)
            }
            // Held until the gateway address is on the bridge (the end of this write): another
            // state directory's create reads the taken subnets only after that, so it sees
            // this network's address and never picks the same subnet (see SubnetChoiceLock).
            let subnetChoice = try host.lockSubnetChoice(store.lockWaitLimit)
            defer { subnetChoice.release() }
            let others = try tx.networks()
            let id = RecordID.generate()
            let bridge = try chooseBridge(options, id: id, instance: instance)
            if let holder = others.first(where: { $0.bridge == bridge }) {
                throw BerthError(.conflict, "bridge \(bridge) already carries network \(holder.name)", hint: "choose another bridge name",
                                 object: .bridge(bridge.rawValue), parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
            }
            let existing = try lookupLink(bridge)
            let leftover = try checkOwnership(of: existing, bridge: bridge, options: options, instance: instance, known: Set(others.map(\.name)))
            let adopted = options.usesExistingBridge ? existing : nil
            let mtu = try Self.chooseMTU(options, adopted: adopted)
            let ipv4 = try chooseIPv4(options, taken: try takenSubnets(networks: others), adopted: adopted)
            if adopted != nil, let ipv4 {
                try refuseSharedSubnet(ipv4.subnet, bridge: bridge, instance: instance, known: Set(others.map(\.name)))
            }
            let ipv6 = try chooseIPv6(options, tx: tx, others: others, except: adopted?.index)
            try Self.checkRanges(options, ipv4: ipv4.map { ($0.subnet, $0.gateway) }, ipv6: ipv6)
            var record = NetworkRecord(name: options.name, id: id, bridge: bridge, subnet: ipv4?.subnet, gateway: ipv4?.gateway,
                                       mtu: mtu, isInternal: options.isInternal, created: StateClock.now(),
                                       bridgeAdopted: options.usesExistingBridge, gatewayAdded: ipv4?.gatewayPresent != true,
                                       ipv6Subnet: ipv6?.subnet, ipv6Gateway: ipv6?.gateway,
                                       dns: options.resolvedDNS, dnsUpstreams: options.dnsUpstreams, phase: .creating,
                                       ipRange: options.ipRange, ipv6Range: options.ipv6Range, auxiliaryAddresses: options.auxiliaryAddresses)
            try tx.insertNetwork(record)
            // The record is committed, marked, before the kernel is touched: a create killed
            // from here on leaves a network `gc` (or a create or removal of the same name)
            // finishes as an interrupted removal — its rules, the bridge Berth made, the
            // gateway address it added to an adopted bridge. The final commit clears the mark.
            try tx.commitAndContinue()
            var forwardingWas: [(key: String, value: String)] = []
            do throws(BerthError) {
                forwardingWas = try prepareBridge(record, instance: instance, existing: existing, gatewayPresent: ipv4?.gatewayPresent,
                                                  installFirewall: true, takingLeftover: leftover, warnings: &warnings).forwardingWas
                try tx.setPhase(.ready, network: record.name)
                // Committed here, as an attach commits: a COMMIT that fails (a full disk)
                // abandons the network as any failing step does, instead of leaving its
                // kernel objects behind a record still marked as creating.
                try host.check(failPoint: "state.commit")
                try tx.commit()
            } catch {
                // prepareBridge took back what it added; the removal also takes what an undo
                // that failed, or a step whose answers were lost, may have left, and forgets
                // the network. Best effort: if it fails too, the mark stays for `gc`.
                tx.abandon { () throws(BerthError) in try finishRemoval(of: record, tx: tx, instance: instance) }
                // Forwarding this create turned on goes back too (prepareBridge's own undo
                // ended with its scope), unless another state's networks rely on it.
                if !forwardingWas.isEmpty, (try? otherInstancesHaveNetworks(instance)) == false {
                    for (key, value) in forwardingWas { _ = try? host.setSysctl(key, to: value) }
                }
                throw error
            }
            record.phase = .ready
            // Another firewall's forward chain dropping by policy (Docker's, ufw's) would
            // drop what the new network forwards. A failed read of other tables is no
            // reason to fail the network: `check` reads them again.
            if let drops = try? foreignForwardDrops([record]) {
                warnings += drops.map { HostWarning(.forwardDropped($0)) }
            }
            return record
        }
    }

    /// Refuses a gateway given without the subnet of its family: a picked subnet would not
    /// hold it (Docker and Podman refuse it too: every gateway must have its subnet).
    static func refuseGatewayWithoutSubnet(_ options: NetworkOptions) throws(BerthError) {
        if let gateway = options.gateway, options.subnet == nil {
            throw BerthError(.invalidArgument, "gateway \(gateway) is given without an IPv4 subnet: a gateway needs the subnet it is in",
                             hint: "give the IPv4 subnet that holds the gateway, or leave the gateway out", object: .network(options.name),
                             parameter: "gateway", remedy: .give(parameter: "subnet"))
        }
        if let gateway = options.ipv6Gateway, options.ipv6Subnet == nil {
            throw BerthError(.invalidArgument, "IPv6 gateway \(gateway) is given without an IPv6 subnet: a gateway needs the subnet it is in",
                             hint: "give the IPv6 subnet that holds the gateway, or leave the gateway out", object: .network(options.name),
                             parameter: "ipv6Gateway", remedy: .give(parameter: "ipv6Subnet"))
        }
    }

    /// Refuses what an IPv6-only network (`ipv4` false) cannot have: no IPv6 (a network
    /// needs one family), an IPv4 subnet or gateway, an MTU under IPv6's minimum of 1280.
    static func checkIPv6Only(_ options: NetworkOptions) throws(BerthError) {
        guard options.wantsIPv6 else {
            throw BerthError(.invalidArgument, "network \(options.name) would have neither IPv4 nor IPv6: IPv4 is off and IPv6 was not asked for",
                             hint: "turn IPv6 on for an IPv6-only network, or leave IPv4 on", object: .network(options.name), parameter: "ipv4",
                             remedy: .give(parameter: "ipv6"))
        }
        if let subnet = options.subnet {
            throw BerthError(.invalidArgument, "network \(options.name) is IPv6-only: IPv4 subnet \(subnet) cannot be given",
                             hint: "leave the IPv4 subnet out, or leave IPv4 on", object: .network(options.name), parameter: "subnet",
                             remedy: .leaveOut(parameter: "subnet"))
        }
        if let gateway = options.gateway {
            throw BerthError(.invalidArgument, "network \(options.name) is IPv6-only: IPv4 gateway \(gateway) cannot be given",
                             hint: "leave the IPv4 gateway out, or leave IPv4 on", object: .network(options.name), parameter: "gateway",
                             remedy: .leaveOut(parameter: "gateway"))
        }
    }

    /// The bridge a new network gets: the one named, else `br-` and its id — or `berth0` for
    /// the default network, unless another instance's bridge already has that name.
    private func chooseBridge(_ options: NetworkOptions, id: String, instance: StateInstance) throws(BerthError) -> InterfaceName {
        if let given = options.bridge { return given }
        let preferred = try KernelNames.defaultBridge(network: options.name, id: id)
        guard options.name == KernelNames.defaultNetwork, let link = try lookupLink(preferred) else { return preferred }
        if let tag = KernelNames.Tag(link.alias), tag.kind == .network, tag.instance == instance.id { return preferred }
        return try InterfaceName("br-" + String(id.prefix(12)))
    }

    /// Refuses a link of the bridge's name that the network may not take: another kind of
    /// link; a bridge of another Berth instance or of a network this store knows; and, unless
    /// the caller asked to use an existing bridge, any bridge Berth did not make. A bridge
    /// of this instance tagged with a network the store does not know is a leftover (what
    /// `gc` would delete): it is taken, and true returned, so that `prepareBridge` gives it
    /// the new network's MAC and tag.
    @discardableResult
    func checkOwnership(of existing: Link?, bridge: InterfaceName, options: NetworkOptions, instance: StateInstance,
                                known: Set<String>) throws(BerthError) -> Bool {
        guard let existing else {
            if options.usesExistingBridge {
                throw BerthError(.notFound, "bridge \(bridge) does not exist", hint: "create it first, or let Berth make the bridge",
                                 object: .bridge(bridge.rawValue), parameter: "bridge", remedy: .listExisting(.link))
            }
            return false
        }
        guard existing.kind == .bridge else {
            throw BerthError(.conflict, "link \(bridge) exists but is a \(existing.kind), not a bridge",
                             hint: "choose another bridge name, or delete that link", object: .link(bridge.rawValue),
                             parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
        }
        if let tag = KernelNames.Tag(existing.alias), tag.kind == .network {
            if let other = tag.instance, other != instance.id {
                throw BerthError(.conflict, "bridge \(bridge) carries network \(tag.owner) of another Berth instance (\(other), another state directory)",
                                 hint: "choose another bridge name", object: .bridge(bridge.rawValue),
                                 parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
            }
            if tag.instance == instance.id, !options.usesExistingBridge {
                guard !known.contains(tag.owner) else {
                    throw BerthError(.conflict, "bridge \(bridge) carries the tag of network \(tag.owner)", hint: "choose another bridge name",
                                     object: .bridge(bridge.rawValue), parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
                }
                return true
            }
            if options.usesExistingBridge {
                throw BerthError(.conflict, "bridge \(bridge) was made by Berth for network \(tag.owner); only a bridge Berth did not make can be used as it is",
                                 hint: "choose another bridge name", object: .bridge(bridge.rawValue),
                                 parameter: "bridge", remedy: .chooseAnother(parameter: "bridge"))
            }
        }
        guard options.usesExistingBridge else {
            throw BerthError(.conflict, "bridge \(bridge) already exists and was not made by Berth",
                             hint: "choose another bridge name, or ask to use the existing bridge as it is (Berth then never deletes or re-addresses it)",
                             object: .bridge(bridge.rawValue), parameter: "usesExistingBridge")
        }
        return false
    }

    /// Removes a network with no endpoints: its nftables rules, its record and the bridge
    /// Berth made for it — or, from an adopted bridge, only the gateway address Berth added.
    public func removeNetwork(named name: String) throws(BerthError) {
        do {
            try store.write { tx throws(BerthError) in
                let network = try tx.requireNetwork(named: name)
                // Ids only: a row that cannot be decoded is attached all the same.
                let attached = try tx.endpointIDs(network: name)
                if !attached.isEmpty {
                    let ids = attached.prefix(5).map { EndpointShortID.display($0) }.joined(separator: ", ")
                    let more = attached.count > 5 ? " and \(attached.count - 5) more" : ""
                    throw BerthError(.conflict, "network \(name) has \(Counted.text(attached.count, "endpoint")) attached: \(ids)\(more)",
                                     hint: "detach its endpoints first", object: .network(name), remedy: .detachEndpoints)
                }
                let instance = try tx.instance()
                // Committed before the kernel is touched: a removal killed from here on leaves
                // the mark, nothing attaches to the network any more, and `gc` (or a removal or
                // create of the same name) finishes it.
                if network.phase != .removing {
                    try tx.setPhase(.removing, network: name)
                    try tx.commitAndContinue()
                }
                // The resolver serves no network marked removing: told now, with the mark
                // committed, it stops listening on the gateway (and exits if it was the
                // last) before the bridge goes — and even if this removal is killed.
                if network.dns { reloadResolver(try tx.resolver()) }
                try finishRemoval(of: network, tx: tx, instance: instance)
            }
        } catch {
            throw error.with(object: .network(name), operation: .removeNetwork)
        }
    }

    /// The rest of a network's removal, for a network whose record is marked (`.removing`,
    /// or `.creating` by a create that did not finish) and has no endpoints: its rules, then
    /// the bridge Berth made for it — or, from an adopted bridge, only the gateway address
    /// Berth added — then its record (deleted in `tx`, not committed). Each step is
    /// idempotent, so running it again finishes one that was interrupted.
    func finishRemoval(of network: NetworkRecord, tx: StateTransaction, instance: StateInstance) throws(BerthError) {
        try firewall(instance).removeNetwork(network)
        try host.check(failPoint: "network.rm.firewall")
        // Gone already (deleted by hand, a reboot, an earlier try) is fine.
        if let bridge = try lookupLink(network.bridge), bridge.kind == .bridge {
            if network.bridgeAdopted {
                if network.gatewayAdded, let gateway = try network.ipv4GatewayCIDR(),
                   try !gatewayShared(gateway, bridge: network.bridge, instance: instance, tx: tx) {
                    do throws(BerthError) {
                        try host.netlink.deleteAddress(gateway, from: .index(bridge.index))
                    } catch where error.code == .notFound {}
                }
            } else if isTagged(bridge, by: network, instance: instance) || bridge.mac == network.bridgeMAC {
                // Only the bridge Berth made: one of that name made by hand since is left alone.
                do throws(BerthError) {
                    try host.netlink.deleteLink(.index(bridge.index))
                } catch where error.code == .notFound {}
            }
        }
        try host.check(failPoint: "network.rm.bridge")
        _ = try tx.deleteNetwork(named: network.name)
        try host.check(failPoint: "network.rm.forget")
    }

    /// Finishes every network whose create or removal a crash interrupted
    /// (`NetworkRecord.Phase`), as `removeNetwork` would, and commits: what `gc` does before
    /// it looks for leftovers. One with endpoints (which nothing attaches to a marked
    /// network: only a hand edit makes one) is left. Returns the names of those finished.
    func finishInterruptedNetworks(_ tx: StateTransaction, instance: StateInstance) throws(BerthError) -> [String] {
        var finished: [String] = []
        for network in try tx.networks() where network.phase != .ready {
            guard try tx.endpointCount(network: network.name) == 0 else { continue }
            try finishRemoval(of: network, tx: tx, instance: instance)
            finished.append(network.name)
        }
        if !finished.isEmpty { try tx.commitAndContinue() }
        return finished
    }

    /// Removes every network that has no endpoints, as `removeNetwork` does, except the
    /// default network (`KernelNames.defaultNetwork`, which Docker's prune never removes
    /// either: its predefined networks stay) and those in `keeping` (a front end's users of
    /// a network that hold no endpoint now, such as stopped containers). A network that
    /// gains an endpoint meanwhile is left; one removed meanwhile is skipped. Goes on past
    /// a failure: returns the networks removed, by name, and the errors of those that
    /// could not be.
    public func pruneNetworks(keeping: Set<String> = []) throws(BerthError) -> NetworkPruneReport {
        let candidates = try store.read { tx throws(BerthError) -> [String] in
            let counts = try tx.endpointCounts()
            return try tx.networks().map(\.name).filter { name in
                name != KernelNames.defaultNetwork && !keeping.contains(name) && counts[name, default: 0] == 0
            }
        }
        var report = NetworkPruneReport()
        for name in candidates {
            do throws(BerthError) {
                try removeNetwork(named: name)
                report.removed.append(name)
            } catch where error.remedy == .detachEndpoints || (error.code == .notFound && error.remedy == .listExisting(.network)) {
                // Attached to, or removed, since the read.
            } catch {
                report.failures.append(error)
            }
        }
        return report
    }

    /// Every network, by name.
    public func networks() throws(BerthError) -> [NetworkRecord] {
        try store.read { tx throws(BerthError) in try tx.networks() }
    }

    /// One network.
    public func network(named name: String) throws(BerthError) -> NetworkRecord {
        try store.read { tx throws(BerthError) in try tx.requireNetwork(named: name) }
    }

    /// Subnets a new network must not overlap: host routes and addresses (each with the
    /// index of its link, so that what is on an adopted bridge can be told apart), other
    /// networks.
    func takenSubnets(networks: [NetworkRecord]) throws(BerthError) -> [TakenSubnet] {
        var taken = networks.compactMap { network in network.subnet.map { TakenSubnet($0, label: "network \(network.name)") } }
        let links = Dictionary(try host.netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        for route in try host.netlink.routes(family: .ipv4) where !route.isDefault {
            guard let destination = route.destination else { continue }
            let device = route.linkIndex.flatMap { links[$0] }.map { " dev \($0)" } ?? ""
            taken.append(TakenSubnet(destination.network, label: "route \(destination.network)\(device)", link: route.linkIndex))
        }
        for address in try host.netlink.addresses(family: .ipv4) where !address.cidr.address.isLoopback {
            let device = links[address.linkIndex].map { " on \($0)" } ?? ""
            taken.append(TakenSubnet(address.cidr.network, label: "address \(address.cidr)\(device)", link: address.linkIndex))
        }
        return taken
    }
}

extension NetworkRecord {
    /// Refuses a network whose create or removal a crash interrupted (`phase`): attaching
    /// to it would plug into a bridge that may have no rules (its removal took them first)
    /// or be about to go. `.conflict`, remedy `.collectGarbage`, which finishes it.
    func requireReady() throws(BerthError) {
        let what: String
        switch phase {
        case .ready: return
        case .creating: what = "its create was interrupted before it finished"
        case .removing: what = "its removal was interrupted before it finished"
        }
        throw BerthError(.conflict, "network \(name) is not ready: \(what)",
                         hint: "finish it with garbage collection (which removes the network), then create it again if it is still wanted",
                         object: .network(name), remedy: .collectGarbage)
    }
}

extension BerthError {
    /// Whether this is the refusal of network `name` whose create or removal a crash
    /// interrupted (`NetworkRecord.requireReady`, as `attach` throws it): what
    /// `ensureNetwork` finishes, as a removal, before it makes the network anew. For a
    /// front end that makes its network on first use, to tell it from the other conflicts.
    public func isUnfinishedNetwork(_ name: String) -> Bool {
        code == .conflict && remedy == .collectGarbage && object == .network(name)
    }
}

/// What `NetworkManager.pruneNetworks` did.
public struct NetworkPruneReport: Sendable {
    /// The networks removed, by name.
    public var removed: [String] = []
    /// Why the others it tried could not be removed.
    public var failures: [BerthError] = []

    /// A report of nothing removed.
    public init() {}
}
