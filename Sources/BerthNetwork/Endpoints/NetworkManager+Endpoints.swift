public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Attaches a network namespace to a network: leases an address, creates a veth pair
    /// whose peer is born in the namespace, configures it there (lo and the interface up,
    /// address, default route via the gateway), publishes its ports and records the endpoint.
    ///
    /// Kernel round trips: one link lookup (the bridge), one sendmsg creating and tagging
    /// the veth in the host namespace, one sendmsg of four changes inside the namespace,
    /// and one nftables batch when ports are published (with the elements of both tables
    /// on a dual-stack network, where a port without a host address is published on both
    /// families). Any failure removes what was made and records nothing.
    ///
    /// Two commits: the record (the address and port leases) is committed marked as
    /// detaching before the kernel is touched, and the mark is cleared in the final commit,
    /// so an attach killed mid-way never gives back an address its veth still holds: `gc`
    /// (or an attach of the same id) finishes the marked record as an interrupted detach.
    @discardableResult
    public func attach(_ options: AttachOptions) throws(BerthError) -> EndpointRecord {
        try attachDescribed(options).endpoint
    }

    /// Attaches as `attach(_:)` does and describes the endpoint as `describe(_:)` would,
    /// from what the attach itself read and the kernel echoed: no second read of the state,
    /// no link lookup. What a caller reporting the endpoint (berth-cni's result) uses.
    ///
    /// `checkNetwork` sees the network's record first thing in the attach's own transaction,
    /// before anything is chosen or made; what it throws ends the attach with nothing
    /// changed. A caller that must refuse a network recorded otherwise than it expects
    /// (berth-cni's configuration) checks it here instead of in a read transaction of its own.
    /// It runs inside the state's write lock: it must not call back into this manager or its
    /// store (that takes the lock again: a deadlock, or a trap for a recursive lock).
    public func attachDescribed(_ options: AttachOptions,
                                checkNetwork: (NetworkRecord) throws(BerthError) -> Void = { _ in }) throws(BerthError) -> EndpointDescription {
        do {
            return try attachEndpoint(options, checkNetwork: checkNetwork)
        } catch {
            throw error.with(operation: .attach)
        }
    }

    private func attachEndpoint(_ options: AttachOptions,
                                checkNetwork: (NetworkRecord) throws(BerthError) -> Void) throws(BerthError) -> EndpointDescription {
        if let id = options.id { try AttachOptions.validate(id: id) }
        if let name = options.name { try EndpointNames.validate(name, parameter: "name") }
        let namespace: NetworkNamespace
        do {
            namespace = try host.open(options.namespace)
        } catch {
            throw error.with(object: .namespace(options.namespace.description), parameter: "namespace")
        }
        if let role = host.reservedRole(of: namespace) {
            throw .invalid("\(options.namespace) is \(role)",
                           hint: "attach a container's namespace", parameter: "namespace", object: .namespace(options.namespace.description))
        }
        // The path is recorded for gc and check to find the namespace again, from another
        // process: one that names it only for this process (an anonymous namespace's
        // /proc/PID/fd/N) would let gc take a running container's endpoint.
        try RecordedNamespacePath.requireLasting(namespace.path, reference: options.namespace.description)
        Trace.mark("attach: namespace opened")
        let attached = try store.write { tx throws(BerthError) -> Attached in
            Trace.mark("attach: state locked")
            let network = try tx.requireNetwork(named: options.network)
            try network.requireReady()
            try checkNetwork(network)
            // Aliases are DNS names where a resolver answers them. On a network without one
            // (berth-cni keeps the aliases podman sends to every network) an alias that is
            // no DNS name is left out rather than refused: it would never be answered either
            // way, and refusing it failed the attach for a name nothing serves.
            let aliases: [String]
            if network.dns {
                for alias in options.aliases { try EndpointNames.validate(alias, parameter: "alias") }
                aliases = options.aliases
            } else {
                aliases = options.aliases.filter(EndpointNames.isValid)
            }
            let instance = try tx.instance()
            let id = options.id ?? RecordID.generate()
            // Which of the endpoints and publications hold the id: one cheap statement; the
            // endpoint's record is read only when there is a detach to finish.
            let holders = try tx.idHolders(id)
            if holders.endpoint {
                guard holders.endpointIsDetaching, let existing = try tx.endpoint(id: id) else {
                    throw BerthError(.alreadyExists, "endpoint \(id) already exists", hint: "choose another id, or detach that endpoint first",
                                     object: .endpoint(id), parameter: "id", remedy: .chooseAnother(parameter: "id"))
                }
                // A detach of the same id was interrupted: finish it, then attach anew.
                try finishDetach(existing, tx: tx, instance: instance, links: nil)
            }
            if holders.publication {
                throw BerthError(.alreadyExists, "id \(id) is already in use by a publication", hint: "choose another id, or unpublish it first",
                                 object: .publication(id), parameter: "id", remedy: .chooseAnother(parameter: "id"))
            }
            // An adopted bridge may hold more of the host's addresses in the subnet than the
            // gateway (the LAN-sharing case): read for such a network only, so the attach to
            // a bridge Berth made reads nothing more. The lookup serves the bridge step too.
            var adoptedBridge: Link?? = nil
            var hostAddresses: [CIDR] = []
            if network.bridgeAdopted {
                let link = try lookupLink(network.bridge)
                if let link, link.kind == .bridge {
                    hostAddresses = try host.netlink.addresses(of: .index(link.index), family: .ipv4).map(\.cidr)
                }
                adoptedBridge = .some(link)
            }
            let address = try IPAM.allocate(tx, network: network, requested: options.address, hostAddresses: hostAddresses)
            let ipv6Address = try IPAM.allocateIPv6(tx, network: network, requested: options.ipv6Address)
            if let mac = options.mac, mac.isMulticast || mac.isZero {
                throw .invalid("MAC address \(mac) cannot be given to an interface", hint: "use a unicast address such as 02:42:0a:58:00:02",
                               parameter: "mac")
            }
            if network.isInternal, !options.ports.isEmpty {
                throw .invalid("network \(network.name) is internal: it publishes no ports", hint: "attach to a network that is not internal to publish ports",
                               parameter: "ports", object: .network(network.name))
            }
            var allocator = PortAllocator(transaction: tx, endpointID: id, host: host)
            let ports = try allocator.resolve(options.ports, to: .network(network)) { (family) throws(BerthError) -> Set<IPAddress> in
                Set(try host.netlink.addresses(family: family).map(\.cidr.address))
            }
            let mac = if let given = options.mac { given } else { try Self.derivedMAC(address, ipv6Address, network: network.name) }
            var record = EndpointRecord(
                id: id, network: network.name, namespacePath: namespace.path, namespaceIdentity: namespace.identity,
                interfaceName: options.interfaceName, hostVeth: try KernelNames.hostVeth(forEndpoint: id, instance: instance.id), address: address,
                mac: mac, created: StateClock.now(), ports: ports, isDetaching: true, ipv6Address: ipv6Address,
                name: options.name, aliases: aliases)
            try tx.insertEndpoint(record)
            record.isDetaching = false
            Trace.mark("attach: address and ports chosen, recorded")
            try host.check(failPoint: "attach.state")
            // The lease is committed, marked, before the kernel is touched: an attach killed
            // from here on leaves a record that holds its address and ports while its veth
            // may be on the bridge, and that `gc` or an attach of the same id finishes as an
            // interrupted detach (the mark is the same). The final commit clears it.
            try tx.commitAndContinue()
            Trace.mark("attach: lease committed")
            var rollback = Rollback()
            do throws(BerthError) {
                let bridge = try ensureKernel(of: network, instance: instance, lookedUp: adoptedBridge)
                Trace.mark("attach: bridge found")
                let hostLink = try wire(record, network: network, instance: instance, bridge: bridge, namespace: namespace,
                                        routes: options.routes, rollback: &rollback)
                Trace.mark("attach: veth wired")
                if !record.ports.isEmpty {
                    // The batch is atomic: a refused one added nothing, and the key it clashed
                    // on belongs to someone else, so the undo is registered only after it.
                    let firewall = try self.firewall(instance)
                    try firewall.publish(record)
                    rollback.add("unpublish the ports of endpoint \(record.id)") { () throws(BerthError) in try firewall.unpublish(record) }
                    Trace.mark("attach: ports published")
                    try ConntrackCleanup.afterPublish(record, host: host)
                }
                try host.check(failPoint: "attach.publish")
                // Last, so that a resolver that cannot start rolls the attach back; never on
                // a network without DNS (the default one), whose attach stays as it was.
                // A bridge Berth made has the network's fixed MAC (the bridge lookup above
                // checked it); an adopted one's follows its ports, so it is read below.
                let description = EndpointDescription(endpoint: record, network: network, bridgeMAC: network.bridgeMAC,
                                                      hostVethMAC: hostLink.mac)
                var resolver: ResolverProcess?
                if network.dns {
                    let ensured = try ensureResolver(tx)
                    resolver = ensured.process
                    // Its record is this transaction's: one that does not commit must not
                    // leave it running without one, bound to the gateways.
                    if ensured.started {
                        rollback.add("stop the resolver \(ensured.process)") { () throws(BerthError) in _ = self.stopResolver(ensured.process) }
                    }
                }
                let attached = Attached(description: description, resolver: resolver)
                try tx.markAttached(id: id)
                // Committed here, inside the rollback's scope: a COMMIT that fails (a full
                // disk) undoes the kernel work as any other failing step does.
                try host.check(failPoint: "state.commit")
                try tx.commit()
                rollback.disarm()
                return attached
            } catch {
                rollback.run()
                // An undo that failed left something in the kernel, and a step whose answers
                // were lost (its batch may have been applied, with no undo registered): the
                // marked record stays, holding the address and ports, for `gc` to finish.
                if rollback.failures.isEmpty, !error.outcomeIsUnknown { tx.forgetAbandoned(endpoint: id) }
                throw error
            }
        }
        Trace.mark("attach: committed")
        let description = attached.description
        reloadResolver(attached.resolver)
        guard description.network.bridgeAdopted else { return description }
        // The attach is committed: a lookup that fails leaves the MAC out (it is optional),
        // never the attach unreported.
        var adopted = description
        adopted.bridgeMAC = (try? optionalLink(named: description.network.bridge.rawValue))??.mac
        return adopted
    }

    /// What an attach's state transaction returns: a named type, not a tuple, whose type
    /// would be generic metadata built at its first use (docs/performance.md, perf8).
    private struct Attached {
        var description: EndpointDescription
        var resolver: ResolverProcess?
    }

    /// The MAC an endpoint gets when none is given: from its IPv4 address, or on an
    /// IPv6-only network from its IPv6 one.
    static func derivedMAC(_ address: IPv4Address?, _ ipv6Address: IPv6Address?, network: String) throws(BerthError) -> MACAddress {
        if let address { return MACAddress(derivedFrom: address) }
        if let ipv6Address { return MACAddress(derivedFrom: ipv6Address) }
        throw BerthError(.internalError, "network \(network) gave an endpoint no address of either family")
    }

    /// Every endpoint, optionally of one network.
    public func endpoints(network: String? = nil) throws(BerthError) -> [EndpointRecord] {
        try store.read { tx throws(BerthError) in try tx.endpoints(network: network) }
    }

    /// The endpoint `id`, exactly; `.notFound` when there is none. With
    /// `acceptingShortID`, an `id` no endpoint has that is the short form of one generated
    /// id (`EndpointShortID`, a CLI's way to name one) finds that endpoint, and the short
    /// form of several is refused (`.conflict`). A runtime that names endpoints by its own
    /// ids leaves it off: an id of its own may be the start of a generated one.
    public func endpoint(_ id: String, acceptingShortID: Bool = false) throws(BerthError) -> EndpointRecord {
        try store.read { tx throws(BerthError) in try tx.endpoint(id, acceptingShortID: acceptingShortID) }
    }

    /// The endpoint with exactly this id, or nil.
    public func endpoint(id: String) throws(BerthError) -> EndpointRecord? {
        try store.read { tx throws(BerthError) in try tx.endpoint(id: id) }
    }

    /// How many endpoints each network has, by network name (networks without any are absent).
    public func endpointCounts() throws(BerthError) -> [String: Int] {
        try store.read { tx throws(BerthError) in try tx.endpointCounts() }
    }
}
