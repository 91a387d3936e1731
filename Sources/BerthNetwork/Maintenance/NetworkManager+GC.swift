public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes what a crash or a vanished container left behind, of this instance only:
    ///
    /// - endpoints whose kernel objects are gone — their namespace is gone, or their host
    ///   veth is (the pair dies as one) — and endpoints whose detach was interrupted, which
    ///   it finishes: their record, address and ports (and the conntrack entries of their
    ///   datagram ports and address, as a detach);
    /// - publications whose namespace is gone: their record and ports;
    ///
    /// A namespace is gone only when opening it proves it (`HostHandle.namespaceStatus`):
    /// one that could not be opened otherwise (no permission, a resource limit) keeps its
    /// endpoint or publication, and `GCReport.unchecked` says which and why. Each endpoint
    /// and publication is collected in a savepoint of its own: one whose teardown fails is
    /// kept whole in the state (with its links and elements), `GCReport.failed` says which
    /// and why, and the rest — the other endpoints, the leftover links and elements — is
    /// collected all the same (a gc narrowed to one endpoint throws instead).
    /// - links tagged with this instance that the state does not know: veths of endpoints
    ///   it does not have (or no longer has under that name: a detach's renamed pair), and
    ///   bridges of networks it does not have;
    /// - this instance's rules, and its map elements of unknown networks, endpoints and
    ///   publications; and a Berth table no network or publication of the state uses any
    ///   more (one a publish killed before its commit made), unless it holds anything else
    ///   (another instance's rule or element).
    ///
    /// - networks whose create or removal was interrupted (`NetworkRecord.Phase`): the
    ///   removal finished — their rules, the bridge Berth made, the gateway address Berth
    ///   added to an adopted bridge, their record.
    ///
    /// Another instance's objects, and untagged ones (which could be anyone's), are left.
    /// Reads the endpoints and publications once, the links once and each of Berth's two
    /// nftables tables once (`ip6 berth` even on a host without IPv6 networks: a crashed
    /// publication to an IPv6 address leaves elements only there).
    ///
    /// And the resolver: when no network has DNS on any more, stopped and forgotten (one
    /// running without a record too, found by its lock); else one running without a record
    /// is recorded, and the one that runs reloads (the names of forgotten endpoints go).
    public func gc() throws(BerthError) -> GCReport {
        var report = try collectGarbage(.all)
        do {
            report.resolver = try stopResolverIfUnneeded()?.description
            // A network whose removal gc finished may have had DNS: a resolver still needed
            // stops listening on its gateway.
            if !report.networks.isEmpty, report.resolver == nil {
                reloadResolver(try store.read { tx throws(BerthError) in try tx.resolver() })
            }
        } catch {
            throw error.with(operation: .gc)
        }
        return report
    }

    /// `gc` narrowed to endpoint `id`: for a front end told that one container is gone,
    /// whose attach may have been killed before it committed (the state then records
    /// nothing, so `detach(id:)` has nothing to undo). Removes the veth named for `id` and
    /// the map elements tagged with `id` when the state does not know `id`, and forgets the
    /// endpoint when the state records it but its namespace is gone. A recorded endpoint
    /// whose namespace lives is whole: nothing is removed (detaching it is `detach(id:)`'s
    /// work). Nothing of another endpoint, publication or network is touched.
    ///
    /// Runs under the state lock like every attach, so an attach of `id` still going on is
    /// waited for, never cut short. An id `attach` refuses has nothing left: the report is
    /// empty. Reads the links once and Berth's table once.
    public func gc(endpoint id: String) throws(BerthError) -> GCReport {
        guard (try? AttachOptions.validate(id: id)) != nil else { return GCReport() }
        do {
            return try collectGarbage(.endpoint(id))
        } catch {
            throw error.with(object: .endpoint(id))
        }
    }

    private func collectGarbage(_ scope: GarbageScope) throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                let instance = try tx.instance()
                var report = GCReport()
                // First, so that the links read next no longer hold their bridges.
                if scope.coversAll { report.networks = try finishInterruptedNetworks(tx, instance: instance) }
                let view = try HostView(host, addresses: false)
                var live: [String: EndpointRecord] = [:]
                var finished: Set<String> = []
                // Endpoints forgotten without a detach (namespace or pair gone): their
                // elements are leftovers, untagged ones of a store from before instances too.
                var forgotten: Set<String> = []
                // Endpoints whose teardown failed: kept whole in the state (their savepoint
                // rolled back), their links and elements left for the next gc.
                var failed: Set<String> = []
                // A row that cannot be decoded (changed outside Berth) is kept with all it
                // has in the kernel, and reported: detaching it removes it.
                let (endpoints, unreadable) = try tx.endpointsLeniently()
                for row in unreadable where scope.covers(endpoint: row.id) {
                    guard scope.coversAll else { throw row.error }
                    report.failed.append(GCFailure(owner: .endpoint, id: row.id, error: row.error))
                    failed.insert(row.id)
                }
                for endpoint in endpoints {
                    if !scope.covers(endpoint: endpoint.id) {
                        live[endpoint.id] = endpoint
                        continue
                    }
                    do throws(BerthError) {
                        if endpoint.isDetaching {
                            try tx.savepoint { () throws(BerthError) in
                                try finishDetach(endpoint, tx: tx, instance: instance, links: view.links)
                            }
                            finished.insert(endpoint.id)
                        } else {
                            // The pair gone is the endpoint gone; else its namespace is looked at.
                            let status = view.byName[endpoint.hostVeth.rawValue] == nil ? nil
                                : host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity)
                            if case .unknown(let error)? = status {
                                // Not known to be gone (no permission to open it, a resource
                                // limit): the container may run. Kept, and said.
                                report.unchecked.append(UncheckedNamespace(owner: .endpoint, id: endpoint.id, path: endpoint.namespacePath, error: error))
                            }
                            if let status, !status.isGone {
                                live[endpoint.id] = endpoint
                                continue
                            }
                            // The kernel destroyed the pair with the namespace, or the pair is
                            // gone and the endpoint with it. A pair something else keeps alive
                            // is a leftover link below.
                            try tx.savepoint { () throws(BerthError) in
                                _ = try tx.deleteEndpoint(id: endpoint.id)
                                // As a detach does: flows to its datagram ports and its address.
                                try ConntrackCleanup.afterUnpublish(endpoint, host: host)
                            }
                            forgotten.insert(endpoint.id)
                        }
                    } catch {
                        // A gc narrowed to this endpoint has nothing else to collect: its
                        // caller hears why. A full one keeps it, says so, and goes on.
                        guard scope.coversAll else { throw error }
                        report.failed.append(GCFailure(owner: .endpoint, id: endpoint.id, error: error))
                        live[endpoint.id] = endpoint
                        failed.insert(endpoint.id)
                        continue
                    }
                    report.endpoints.append(endpoint.id)
                }
                // Publications have ids of their own: a narrowed gc leaves them all alone.
                let publications = if scope.coversAll { try collectPublications(tx) }
                    else { (removed: [String](), kept: try tx.publications().map(\.id), unchecked: [UncheckedNamespace](), failed: [GCFailure]()) }
                report.endpoints += publications.removed
                report.unchecked += publications.unchecked
                report.failed += publications.failed
                let networks = try tx.networks()
                let knownNetworks = Set(networks.map(\.name))
                let knownBridges = Set(networks.map(\.bridge.rawValue))
                var forgottenBridge = false
                for link in view.links {
                    // Only tags that carry this instance's id: an untagged link could be any
                    // instance's (or a store's from before instances).
                    guard let tag = KernelNames.Tag(link.alias), tag.instance == instance.id else { continue }
                    let leftover: Bool
                    switch (tag.kind, link.kind) {
                    case (.endpoint, .veth):
                        // finishDetach handed those of finished detaches to the kernel already.
                        leftover = scope.covers(endpoint: tag.owner) && !finished.contains(tag.owner) && !failed.contains(tag.owner)
                            && live[tag.owner]?.hostVeth.rawValue != link.name
                    case (.network, .bridge) where scope.coversAll:
                        leftover = !knownNetworks.contains(tag.owner) && !knownBridges.contains(link.name)
                        forgottenBridge = forgottenBridge || leftover
                    default:
                        leftover = false
                    }
                    guard leftover else { continue }
                    do throws(BerthError) {
                        try host.netlink.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    report.links.append(link.name)
                }
                // A table of Berth's that nothing in the state puts anything in any more (a
                // publish killed before its commit made it, or the last network or
                // publication left it) goes, unless it holds someone else's objects.
                var unusedTables: Set<IPFamily> = []
                if scope.coversAll {
                    let remaining = try tx.publications().map { (publication) throws(BerthError) in try publication.firewallView() }
                    // Its guard (127/8 arriving anywhere but lo is dropped) stays while any
                    // link routes to loopback: route_localnet, which a publication leaves on
                    // its host link (a CNI main plugin's bridge) when it goes — or while links
                    // made from now on would (`default`).
                    if networks.isEmpty, !remaining.contains(where: { $0.hasElements(in: .ipv4) }),
                       !(["all", "default"] + view.links.map(\.name)).contains(where: { (try? host.sysctl("net/ipv4/conf/\($0)/route_localnet")) == "1" }) {
                        unusedTables.insert(.ipv4)
                    }
                    if !networks.contains(where: \.hasIPv6), !remaining.contains(where: { $0.hasElements(in: .ipv6) }) { unusedTables.insert(.ipv6) }
                }
                report.firewallObjects = try firewall(instance).removeLeftovers(knownNetworks: knownNetworks,
                                                                                liveEndpoints: Set(live.keys).union(publications.kept).union(unreadable.map(\.id)),
                                                                                forgotten: forgotten, scope: scope,
                                                                                // A forgotten IPv6-only network left rules only in ip6;
                                                                                // an ADD that published to an IPv6 address and
                                                                                // crashed before its record committed left elements
                                                                                // there that nothing in the state hints at: a full
                                                                                // gc always reads ip6 (a missing table is one request).
                                                                                dualStack: scope.coversAll || forgottenBridge
                                                                                    || networks.contains(where: \.hasIPv6),
                                                                                unusedTables: unusedTables)
                return report
            }
        } catch {
            throw error.with(operation: .gc)
        }
    }
}
