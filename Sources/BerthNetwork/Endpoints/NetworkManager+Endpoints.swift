public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Attaches a network namespace to a network: leases an address, creates a veth pair
    /// whose peer is born in the namespace, configures it there (lo and the interface up,
    /// address, default route via the gateway) and records the endpoint.
    ///
    /// Kernel round trips: one link lookup (the bridge), one sendmsg creating and tagging
    /// the veth in the host namespace, one sendmsg of four changes inside the namespace.
    /// Any failure removes what was made and records nothing.
    @discardableResult
    public func attach(_ options: AttachOptions) throws(BerthError) -> EndpointRecord {
        if let id = options.id { try AttachOptions.validate(id: id) }
        let namespace = try NetworkNamespace.open(nameOrPath: options.namespace)
        if namespace == hostNamespace {
            throw .invalid("\(options.namespace) is the host's own network namespace",
                           hint: "attach a container's namespace, such as one made with 'berth netns add'")
        }
        Trace.mark("attach: namespace opened")
        let endpoint = try store.write { tx throws(BerthError) -> EndpointRecord in
            Trace.mark("attach: state locked")
            let network = try tx.requireNetwork(named: options.network)
            let id = options.id ?? RecordID.generate()
            if try tx.endpoint(id: id) != nil {
                throw BerthError(.alreadyExists, "endpoint \(id) already exists", hint: "choose another --id or detach it first")
            }
            let address = try IPAM.allocate(tx, network: network, requested: options.address)
            if let mac = options.mac, mac.isMulticast || mac.isZero {
                throw .invalid("MAC address \(mac) cannot be given to an interface", hint: "use a unicast address such as 02:42:0a:58:00:02")
            }
            if network.isInternal, !options.ports.isEmpty {
                throw .invalid("network \(network.name) is internal: it publishes no ports", hint: "attach to a non-internal network to use -p")
            }
            var allocator = PortAllocator(transaction: tx, endpointID: id, hostNamespace: foreignHostNamespace)
            let ports = try allocator.resolve(options.ports) { () throws(BerthError) -> Set<IPAddress> in
                Set(try host.addresses(family: .ipv4).map(\.cidr.address))
            }
            let record = EndpointRecord(
                id: id, network: network.name, namespacePath: namespace.path, namespaceIdentity: namespace.identity,
                interfaceName: options.interfaceName, hostVeth: try KernelNames.hostVeth(forEndpoint: id), address: address,
                mac: options.mac ?? MACAddress(derivedFrom: address), created: StateClock.now(), ports: ports)
            try tx.insertEndpoint(record)
            Trace.mark("attach: address and ports chosen, recorded")
            try FailPoint.check("attach.state")
            let bridgeIndex = try ensureKernel(of: network)
            Trace.mark("attach: bridge found")
            try wire(record, network: network, bridgeIndex: bridgeIndex, namespace: namespace)
            Trace.mark("attach: veth wired")
            do throws(BerthError) {
                try firewall.publish(record)
            } catch {
                // The batch is atomic: a refused one added nothing, and the key it clashed
                // on belongs to someone else, so it must not be "unpublished" here.
                try? unwire(record)
                throw error
            }
            do throws(BerthError) {
                Trace.mark("attach: ports published")
                try ConntrackCleanup.afterPublish(record, in: foreignHostNamespace)
                try FailPoint.check("attach.publish")
            } catch {
                try? firewall.unpublish(record)
                try? unwire(record)
                throw error
            }
            return record
        }
        Trace.mark("attach: committed")
        return endpoint
    }

    /// Detaches an endpoint: removes its veth pair (the namespace may be gone already) and
    /// its record, which releases its address. Detaching an unknown id succeeds: detach is
    /// idempotent, so a retry after a crash is always safe.
    public func detach(id: String) throws(BerthError) {
        try store.write { tx throws(BerthError) in
            guard let endpoint = try tx.endpoint(id: id) else { return }
            try firewall.unpublish(endpoint)
            try ConntrackCleanup.afterUnpublish(endpoint, in: foreignHostNamespace)
            try unwire(endpoint)
            _ = try tx.deleteEndpoint(id: endpoint.id)
        }
    }

    /// Every endpoint, optionally of one network.
    public func endpoints(network: String? = nil) throws(BerthError) -> [EndpointRecord] {
        try store.read { tx throws(BerthError) in try tx.endpoints(network: network) }
    }

    /// One endpoint, by id or unique id prefix.
    public func endpoint(_ idOrPrefix: String) throws(BerthError) -> EndpointRecord {
        try store.read { tx throws(BerthError) in try tx.endpoint(matching: idOrPrefix) }
    }

    // MARK: - Kernel work

    /// Creates and configures the veth pair; on failure, deletes it again.
    func wire(_ endpoint: EndpointRecord, network: NetworkRecord, bridgeIndex: Int32, namespace: NetworkNamespace) throws(BerthError) {
        let hostLink: Link
        do throws(BerthError) {
            let echoed = try host.apply { changes throws(BerthError) in
                try changes.createVeth(named: endpoint.hostVeth, peer: endpoint.interfaceName, peerNamespace: namespace,
                                       master: .index(bridgeIndex), up: true, mtu: UInt32(network.mtu), peerMAC: endpoint.mac)
                try changes.setAlias(.name(endpoint.hostVeth), to: KernelNames.endpointAlias(endpoint.id))
                try changes.setHairpin(.name(endpoint.hostVeth), true)
            }
            guard let link = echoed.first(where: { $0.name == endpoint.hostVeth.rawValue }) else {
                throw BerthError(.internalError, "the kernel did not echo veth \(endpoint.hostVeth)")
            }
            hostLink = link
        } catch where error.code == .alreadyExists {
            throw try explainVethClash(endpoint, namespace: namespace, cause: error)
        } catch {
            // A refusal of the second message (the alias) leaves the first one made.
            try? host.deleteLink(.name(endpoint.hostVeth))
            throw error
        }
        do throws(BerthError) {
            try FailPoint.check("attach.veth")
            let inside = try RouteNetlink(namespace: namespace)
            let peerIndex: Int32
            if let index = hostLink.peerIndex {
                peerIndex = index
            } else {
                peerIndex = try inside.link(named: endpoint.interfaceName.rawValue).index
            }
            let cidr = try CIDR(address: .v4(endpoint.address), prefixLength: network.subnet.prefixLength)
            try inside.apply { changes throws(BerthError) in
                try changes.setUp(.index(Self.loopbackIndex))
                try changes.setUp(.index(peerIndex))
                try changes.addAddress(cidr, to: .index(peerIndex))
                // Like Docker, the first network keeps the default route of a namespace
                // attached to several.
                try changes.addRoute(to: nil, via: .v4(network.gateway), device: .index(peerIndex), appendIfExists: true)
            }
            try FailPoint.check("attach.configure")
        } catch {
            try? host.deleteLink(.index(hostLink.index))
            throw error
        }
    }

    /// Removes an endpoint's veth pair; what is already gone is fine.
    ///
    /// When the endpoint's namespace is gone (its last process ended, or it was deleted),
    /// the kernel destroys the pair with it, asynchronously; deleting it here would block
    /// 20–30 ms in RCU grace periods for nothing, so Berth leaves it to the kernel. Should
    /// something else still hold that namespace, `gc` finds the tagged veth later.
    func unwire(_ endpoint: EndpointRecord) throws(BerthError) {
        let namespaceAlive = (try? NetworkNamespace.open(path: endpoint.namespacePath))
            .map { $0.identity == endpoint.namespaceIdentity } ?? false
        guard namespaceAlive else { return }
        do {
            try host.deleteLink(.name(endpoint.hostVeth))
        } catch where error.code == .notFound {
            // Gone already.
        }
    }

    /// Loopback is the first device of every network namespace.
    static let loopbackIndex: Int32 = 1

    /// Tells which name clashed when the veth could not be created.
    private func explainVethClash(_ endpoint: EndpointRecord, namespace: NetworkNamespace, cause: BerthError) throws(BerthError) -> BerthError {
        if let inside = try? RouteNetlink(namespace: namespace), (try? inside.link(named: endpoint.interfaceName.rawValue)) != nil {
            return BerthError(.alreadyExists, "interface \(endpoint.interfaceName) already exists in network namespace \(namespace)",
                              hint: "choose another --ifname")
        }
        return BerthError(.alreadyExists, "host veth \(endpoint.hostVeth) of endpoint \(endpoint.id) already exists (a leftover of a crash?)",
                          hint: "run 'berth gc' to remove leftovers", cause: cause)
    }
}
