import BerthCore
import BerthNamespace
import BerthNetwork

/// Everything `berth-cni` asks of Berth's library, in one place: the plugin's handlers call
/// these and nothing else of `NetworkManager`, so a change of the library's API is adapted
/// here.
struct BerthBackend {
    let manager: NetworkManager

    /// Opens Berth's state in `stateDirectory` (or `BERTH_STATE_DIR`, or /var/lib/berth),
    /// working in the plugin's own network namespace: the runtime runs plugins in the host's.
    /// In a process that exits once the request is answered, a due WAL checkpoint waits for
    /// `OpenedBackend.finish`.
    init(stateDirectory: String?, processExitsAfterwards: Bool = false) throws(BerthError) {
        try self.init(manager: NetworkManager(stateDirectory: stateDirectory), processExitsAfterwards: processExitsAfterwards)
    }

    /// A backend over `manager` (a test's, on a fake host).
    init(manager: NetworkManager, processExitsAfterwards: Bool = false) {
        self.manager = manager
        if processExitsAfterwards { manager.store.deferCheckpoints() }
        self.processExitsAfterwards = processExitsAfterwards
    }

    /// Whether the process exits once the request is answered.
    let processExitsAfterwards: Bool

    /// The network `options.name`, created as `options` says if it does not exist. An
    /// existing one must match what the configuration asks for (code 7 otherwise). What
    /// creating it changed for the host (`HostWarning`) goes to the plugin's log.
    func ensureNetwork(_ options: NetworkOptions, log: CNILog) throws(CNIError) -> NetworkRecord {
        var warnings: [HostWarning] = []
        defer { for warning in warnings { log.write("warning: \(warning)") } }
        let record: NetworkRecord
        do throws(BerthError) {
            record = try manager.ensureNetwork(options, warnings: &warnings)
        } catch {
            throw CNIError(error)
        }
        try Self.check(record, matches: options)
        return record
    }

    private static func check(_ record: NetworkRecord, matches options: NetworkOptions) throws(CNIError) {
        func mismatch(_ key: String, _ recorded: String, _ asked: String) -> CNIError {
            CNIError(.invalidConfig, "network \(record.name) exists with \(key) \(recorded), but the configuration asks for \(asked)",
                     details: "use the recorded \(key), or another network name (or remove network \(record.name) once it has no attachments)")
        }
        if let subnet = options.subnet, subnet.network != record.subnet {
            throw mismatch("subnet", record.subnet?.description ?? "none (IPv6-only)", subnet.network.description)
        }
        if let gateway = options.gateway, gateway != record.gateway {
            throw mismatch("gateway", record.gateway?.description ?? "none (IPv6-only)", gateway.description)
        }
        if options.ipv4 != record.hasIPv4 {
            throw mismatch("ipv4", record.hasIPv4 ? "true" : "false", options.ipv4 ? "true" : "false")
        }
        if let bridge = options.bridge, bridge != record.bridge { throw mismatch("bridge", record.bridge.description, bridge.description) }
        if let mtu = options.mtu, mtu != record.mtu { throw mismatch("mtu", String(record.mtu), String(mtu)) }
        if options.wantsIPv6, !record.hasIPv6 {
            throw CNIError(.invalidConfig, "network \(record.name) exists with IPv4 only, but the configuration asks for IPv6",
                           details: "remove the IPv6 keys (and IPv6 ranges of the IPAM section), or use another network name (or remove network \(record.name) once it has no attachments)")
        }
        if let subnet = options.ipv6Subnet, subnet.network != record.ipv6Subnet {
            throw mismatch("ipv6Subnet", record.ipv6Subnet?.description ?? "none", subnet.network.description)
        }
        if let gateway = options.ipv6Gateway, gateway != record.ipv6Gateway {
            throw mismatch("ipv6Gateway", record.ipv6Gateway?.description ?? "none", gateway.description)
        }
        if options.isInternal != record.isInternal {
            throw mismatch("internal", String(record.isInternal), String(options.isInternal))
        }
    }

    /// Attaches the namespace to the network `network.name` and describes the endpoint for
    /// the result, from what the attach read and made (no second look at the state or the
    /// links). The network is `ensureNetwork`'s: a recorded one must match `network` (code 7
    /// otherwise), checked inside the attach's own transaction before anything is made, so
    /// the usual ADD takes one state transaction, not a read one first (perf9); a missing one,
    /// or one whose create or removal was interrupted, is created (`ensureNetwork`) and the
    /// attach run again.
    func attach(network: NetworkOptions, log: CNILog, namespace: NamespaceReference, id: String, address: IPv4Address?,
                ipv6Address: IPv6Address? = nil, mac: MACAddress?, ifname: InterfaceName, ports: [PortSpec],
                aliases: [String] = [], routes: [AttachOptions.Route] = []) throws(CNIError) -> EndpointDescription {
        let options: AttachOptions
        do throws(BerthError) {
            options = try AttachOptions(network: network.name, namespace: namespace, id: id, address: address, mac: mac,
                                        interfaceName: ifname, ports: ports, ipv6Address: ipv6Address, aliases: aliases, routes: routes)
        } catch {
            throw CNIError(error)
        }
        // The check's own error, kept whole: the attach carries a stand-in to its end.
        var mismatch: CNIError?
        let description: EndpointDescription
        do throws(BerthError) {
            description = try manager.attachDescribed(options) { (record) throws(BerthError) in
                do throws(CNIError) {
                    try Self.check(record, matches: network)
                } catch {
                    mismatch = error
                    throw BerthError(.conflict, error.message, object: .network(record.name))
                }
            }
        } catch where (error.code == .notFound && error.object == .network(network.name)) || error.isUnfinishedNetwork(network.name) {
            // Missing, or left marked by a create (an ADD's) or a removal killed before it
            // finished: a network no attachment is on (nothing attaches to a marked one),
            // which `ensureNetwork` finishes as a removal under the state lock and makes anew
            // from this configuration, as `berth run` does the default network. Once: the
            // attach's error after it is the one reported.
            _ = try ensureNetwork(network, log: log)
            Trace.mark("cni: network ready")
            do throws(BerthError) {
                description = try manager.attachDescribed(options)
            } catch {
                throw CNIError(error)
            }
        } catch {
            throw mismatch ?? CNIError(error)
        }
        Trace.mark("cni: attached")
        return description
    }

    /// Removes the endpoint `id` of network `network`; nothing if there is none (or it is
    /// another network's). Returns whether it removed one.
    func detach(id: String, network: String) throws(BerthError) -> Bool { try manager.detach(id: id, network: network) }

    /// The endpoint with exactly this id, or nil.
    func endpoint(id: String) throws(BerthError) -> EndpointRecord? {
        try manager.store.read { tx throws(BerthError) in try tx.endpoint(id: id) }
    }

    /// Whether the namespace the endpoint `id` was recorded in is gone for sure (its path
    /// missing, or another namespace there now): then its address is in use nowhere.
    func namespaceGone(ofEndpoint id: String) throws(BerthError) -> Bool {
        guard let endpoint = try endpoint(id: id) else { return false }
        if case .gone = manager.host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity) { return true }
        return false
    }

    /// What holds attachment id `id` in Berth's state: an endpoint (on its network, marked
    /// when an attach or detach of it was interrupted) or a publication (in its group); nil
    /// when nothing does. One read transaction.
    func holder(of id: String) throws(BerthError) -> AttachmentHolder? {
        try manager.store.read { tx throws(BerthError) -> AttachmentHolder? in
            if let endpoint = try tx.endpoint(id: id) {
                return AttachmentHolder(network: endpoint.network, isPublication: false, isMarked: endpoint.isDetaching)
            }
            if let publication = try tx.publication(id: id) {
                return AttachmentHolder(network: publication.group, isPublication: true, isMarked: false)
            }
            return nil
        }
    }

    /// The network of this name, or nil.
    func network(named name: String) throws(BerthError) -> NetworkRecord? {
        try manager.store.read { tx throws(BerthError) in try tx.network(named: name) }
    }

    /// Chained mode: publishes `ports` to the addresses another plugin configured (an
    /// IPv4 one, an IPv6 one, or both).
    func publish(id: String, group: String, address: IPv4Address?, ipv6Address: IPv6Address?, namespace: NamespaceReference,
                 hostLink: InterfaceName?, ports: [PortSpec]) throws(BerthError) {
        try manager.publish(PublicationOptions(id: id, group: group, address: address, ipv6Address: ipv6Address, namespace: namespace,
                                               hostLink: hostLink, ports: ports))
    }

    /// Removes the publication `id` of group `group`; nothing if there is none (or it is
    /// another group's). When nothing at all records `id`, removes the elements a chained
    /// ADD of `id` left (its batch went in, its record never committed) and returns them,
    /// in words.
    func unpublish(id: String, group: String) throws(BerthError) -> [String] { try manager.unpublish(id: id, group: group) }

    func publication(id: String) throws(BerthError) -> PublicationRecord? { try manager.publication(id: id) }

    /// What is missing of an endpoint, in words.
    func verifyEndpoint(id: String, expectedMAC: MACAddress? = nil) throws(BerthError) -> [String] {
        try manager.verifyEndpoint(id: id, expectedMAC: expectedMAC).map(\.description)
    }

    /// What is missing of a publication, in words.
    func verifyPublication(id: String) throws(BerthError) -> [String] { try manager.verifyPublication(id: id).map(\.description) }

    /// GC: removes attachments of `network` (endpoints and publications) not in `keeping`,
    /// and what crashed ADDs left (veths, elements); returns the endpoints removed (for the
    /// IPAM plugin's DEL), every id removed, the leftovers removed, in words, the CNI
    /// attachments it could not judge, and the first failure, if any.
    ///
    /// It removes what it can, as the specification asks of GC: the endpoints' prune
    /// commits before the publications' runs, so a failure of the latter still returns the
    /// endpoints removed (their leases are to be given back) beside the error; an endpoint
    /// or a publication that could not be removed is kept for the next GC and its error
    /// returned, the others removed all the same. Only a failure of the endpoints' prune as
    /// a whole (reading the state or the links), which then committed nothing past its
    /// marks (an interrupted prune's, finished by the next), is thrown.
    ///
    /// Only CNI attachments are candidates: endpoints whose id is
    /// `CNIAttachment.endpointID(containerID:ifname:)` of their own interface name. The
    /// network may be shared by name with `berth network create`, and the endpoints
    /// `berth attach`/`berth run` made on it are not the runtime's to collect. The prune
    /// decides this inside its transaction, on the records it removes.
    ///
    /// An endpoint row of the network that cannot be decoded (changed outside Berth) cannot
    /// be judged, so it is kept with what it has in the kernel. When its id has that shape
    /// with the interface name it records (read as raw text), and `keeping` does not hold
    /// it, it is an attachment the GC could not judge: its error is returned (first: the
    /// spec's GC reports what it could not remove, after removing the rest; a GC that kept
    /// an attachment it could not judge does not report success), and it is listed in
    /// `unjudged`, so that the IPAM plugin's GC is told to keep its lease. Another row (a
    /// `berth attach` endpoint's, or one whose interface name is itself what cannot be read)
    /// is kept unreported: it would otherwise fail every GC of the network, and nothing
    /// tells the attachment it would be.
    func prune(network: String, keeping: Set<String>) throws(BerthError) -> CNIPruneResult {
        var candidates: [EndpointRecord] = []
        var unjudged: [CNIPruneResult.Attachment] = []
        let report = try manager.pruneEndpoints(network: network, keeping: keeping, among: { endpoint in
            guard CNIAttachment.isAttachment(endpoint) else { return false }
            candidates.append(endpoint)
            return true
        }, amongUnreadable: { id, ifname in
            guard let containerID = CNIAttachment.containerID(endpointID: id, ifname: ifname) else { return false }
            unjudged.append(CNIPruneResult.Attachment(containerID: containerID, ifname: ifname))
            return true
        })
        let removed = Set(report.endpoints)
        var result = CNIPruneResult(endpoints: candidates.filter { removed.contains($0.id) }, removed: report.endpoints,
                                    leftovers: report.links + report.firewallObjects, unjudged: unjudged,
                                    failure: report.failed.first.map(Self.failure))
        let publications: GCReport
        do {
            publications = try manager.prunePublications(group: network, keeping: keeping)
        } catch {
            result.failure = result.failure ?? error
            return result
        }
        result.removed += publications.endpoints
        result.leftovers += publications.firewallObjects
        result.failure = result.failure ?? publications.failed.first.map(Self.failure)
        return result
    }

    /// A prune's failure to remove one endpoint or publication, as GC's error.
    private static func failure(_ failed: GCFailure) -> BerthError {
        let object: BerthError.Object = failed.owner == .endpoint ? .endpoint(failed.id) : .publication(failed.id)
        return BerthError(failed.error.code, "\(failed.owner.rawValue) \(failed.id) could not be removed: \(failed.error.message)", hint: failed.error.hint,
                          object: object, operation: .prune, remedy: failed.error.remedy, cause: failed.error.cause)
    }

    /// STATUS: why an ADD with `options` would fail now.
    func blockers(_ options: NetworkOptions) throws(BerthError) -> [BerthError] {
        try manager.attachBlockers(network: options.name, creating: options)
    }
}

/// What a CNI GC's prune (`BerthBackend.prune`) did.
struct CNIPruneResult {
    /// A CNI attachment: the pair the runtime's `cni.dev/valid-attachments` lists.
    struct Attachment: Sendable, Hashable {
        var containerID: String
        var ifname: String
    }

    /// The CNI endpoints removed, as recorded (their delegated leases are to be given back).
    var endpoints: [EndpointRecord]
    /// Every id removed: endpoints, then publications.
    var removed: [String]
    /// The leftovers of crashed ADDs removed, in words.
    var leftovers: [String]
    /// CNI attachments whose endpoint row cannot be decoded, not listed valid: kept, and to
    /// be kept valid for the IPAM plugin's GC too.
    var unjudged: [Attachment]
    /// The first failure (a row that could not be judged comes first), if any.
    var failure: BerthError?
}

/// What holds an attachment id in Berth's state (`BerthBackend.holder(of:)`).
struct AttachmentHolder: Sendable, Hashable {
    /// The endpoint's network, or the publication's group (the network name of chained mode).
    var network: String
    /// A publication (chained mode), not an endpoint.
    var isPublication: Bool
    /// An endpoint whose attach or detach was interrupted (marked as detaching).
    var isMarked: Bool
}

/// The backend a request's handler opened, if any: what `CNIPlugin.run` finishes with once
/// the handler returned or threw.
final class OpenedBackend {
    var backend: BerthBackend?

    /// In a process that exits once the request is answered: starts a due WAL checkpoint in
    /// a process of its own (`berth-cni _checkpoint DIR`; after an ADD, `startPath`, only
    /// once the WAL is long: `CheckpointLauncher`) and leaves the state and the sockets to
    /// the exit (closing them would only cost time: the store never checkpoints on close).
    /// Otherwise nothing: the backend closes when released.
    func finish(startPath: Bool = false) {
        guard let backend, backend.processExitsAfterwards else { return }
        CheckpointLauncher.startIfDue(backend.manager.store, startPath: startPath)
        _ = Unmanaged.passRetained(backend.manager)
    }
}
