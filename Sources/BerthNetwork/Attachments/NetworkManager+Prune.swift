public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Removes every endpoint of `network` whose id is not in `keeping` and that `among`
    /// accepts (its veth, record, address and elements), and what crashed attaches and
    /// detaches to that network left: this instance's veths on its bridge, or renamed off it
    /// by a detach, that no endpoint records, and this instance's map elements of unknown
    /// endpoints. Endpoints in `keeping` or not accepted by `among`, other networks and
    /// other instances' objects are untouched — except an endpoint in `keeping` that is
    /// marked as detaching: under the state lock no attach or detach is in flight, so the
    /// mark is an interrupted attach's or detach's, and the endpoint no working attachment
    /// (its veth, address or elements may be half there, or half gone). Keeping it would
    /// hold its address and ports until some later detach; the prune finishes it as `gc`
    /// does, and reports it with the others removed. A row of the network that cannot be
    /// decoded (changed outside Berth) cannot be judged by `among`: it is kept whole, with
    /// its veth and elements, and reported in `failed` unless `keeping` holds it or
    /// `amongUnreadable`, asked with its id and interface name as recorded, declines it.
    ///
    /// Crash-safe as `detach(id:)` is: the endpoints to remove are marked as detaching,
    /// and that is committed, before the kernel is touched; an interrupted prune leaves the
    /// marks, and `gc`, `detach`, an attach of the same id or the next prune finishes them.
    /// Each endpoint is torn down in a savepoint of its own, as `gc` collects them: one
    /// whose teardown fails is kept, marked, with its record (and what of it the failing
    /// step left), listed in `failed` with the error, and the others, the leftovers and
    /// their removal's commit go all the same.
    ///
    /// For a caller that knows the full set of attachments that should exist (a runtime
    /// after a restart). An unknown network prunes nothing. Reads the links once and
    /// Berth's table once.
    ///
    /// `among` is for a caller that owns only some of a network's endpoints (berth-cni's GC:
    /// its attachments, not those `berth attach` made on a network of the same name). It is
    /// asked inside the prune's write transaction, so an endpoint someone else attached just
    /// before is judged by it too, never pruned unasked. Leftovers of crashed attaches (no
    /// record, so nothing to ask about) are removed whoever made them. `amongUnreadable` is
    /// its counterpart for rows that cannot be decoded, which are never removed: it says
    /// which of them the caller would have owned, so that only those are reported (a corrupt
    /// row of someone else's endpoint would otherwise fail every prune of the caller's).
    public func pruneEndpoints(network name: String, keeping: Set<String>,
                               among isCandidate: (EndpointRecord) -> Bool = { _ in true },
                               amongUnreadable isUnreadableCandidate: (_ id: String, _ interfaceName: String) -> Bool = { _, _ in true })
        throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                var report = GCReport()
                guard let network = try tx.network(named: name) else { return report }
                let instance = try tx.instance()
                // A marked endpoint goes even when kept: under the lock no attach or detach is
                // in flight, so its mark is an interrupted one's, not a working attachment.
                // A row that cannot be decoded (changed outside Berth) cannot be asked about:
                // kept with all it has in the kernel and reported, as gc does, if the caller
                // would own it; detaching it removes it.
                let (recorded, unreadable) = try tx.endpointsLeniently()
                for row in unreadable where row.network == name && !keeping.contains(row.id) && isUnreadableCandidate(row.id, row.interfaceName) {
                    report.failed.append(GCFailure(owner: .endpoint, id: row.id, error: row.error))
                }
                let doomed = recorded.filter { $0.network == name && (!keeping.contains($0.id) || $0.isDetaching) && isCandidate($0) }
                if doomed.contains(where: { !$0.isDetaching }) {
                    for endpoint in doomed where !endpoint.isDetaching { try tx.markDetaching(id: endpoint.id) }
                    try tx.commitAndContinue()
                }
                try host.check(failPoint: "prune.mark")
                let view = try HostView(host, addresses: false)
                // Each in a savepoint of its own, as gc collects them: one whose teardown fails
                // is kept (its record, still marked, and what the failing step left) for the
                // next prune or gc, and the others go all the same.
                var failed: Set<String> = []
                for endpoint in doomed {
                    var marked = endpoint
                    marked.isDetaching = true
                    let outcome = Result { () throws(BerthError) in
                        try tx.savepoint { () throws(BerthError) in
                            try finishDetach(marked, tx: tx, instance: instance, links: view.links)
                        }
                    }
                    if case .failure(let error) = outcome {
                        report.failed.append(GCFailure(owner: .endpoint, id: endpoint.id, error: error))
                        failed.insert(endpoint.id)
                        continue
                    }
                    report.endpoints.append(endpoint.id)
                }
                let (endpoints, unread) = try tx.endpointsLeniently()
                let live = Dictionary(endpoints.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                let unreadableIDs = Set(unread.map(\.id))
                // A failed one's pair may be renamed off its name already: not a leftover.
                let finished = Set(report.endpoints).union(failed)
                let bridge = view.byName[network.bridge.rawValue].flatMap { $0.kind == .bridge ? $0.index : nil }
                for link in view.links where link.kind == .veth {
                    // This instance's veths only: on this network's bridge, or off any bridge
                    // (renamed by a detach whose deletion never ran) — and not an endpoint's.
                    guard let tag = KernelNames.Tag(link.alias), tag.kind == .endpoint, tag.instance == instance.id,
                          !finished.contains(tag.owner), !unreadableIDs.contains(tag.owner), live[tag.owner]?.hostVeth.rawValue != link.name,
                          link.masterIndex == nil || link.masterIndex == bridge,
                          live[tag.owner] == nil || live[tag.owner]?.network == name else { continue }
                    do throws(BerthError) {
                        try host.netlink.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    report.links.append(link.name)
                }
                let networks = try tx.networks()
                let liveEndpoints = Set(endpoints.map(\.id) + (try tx.publications().map(\.id))).union(unreadableIDs)
                report.firewallObjects = try firewall(instance).removeLeftovers(knownNetworks: Set(networks.map(\.name)), liveEndpoints: liveEndpoints,
                                                                                dualStack: networks.contains(where: \.hasIPv6))
                return report
            }
        } catch {
            throw error.with(object: .network(name), operation: .prune)
        }
    }

    /// Removes every publication of `group` whose id is not in `keeping` (its elements and
    /// record), and what crashed publishes left: this instance's map elements, in `ip berth`
    /// and `ip6 berth`, of ids that neither an endpoint nor a publication records (a publish
    /// killed after its batch and before its record committed). Such elements carry their
    /// id but no group, so any unknown id's go, as `pruneEndpoints` removes them; this
    /// instance's rules of networks the state does not know go too. Publications in
    /// `keeping`, other groups, endpoints and other instances' objects are untouched.
    ///
    /// One state transaction: the leftovers are read and removed under its lock, so an
    /// operation in progress (which holds the lock until its record commits) is never
    /// mistaken for a crashed one. Reads each of Berth's tables once (`ip6 berth` always:
    /// nothing in the state hints at a crashed publish's IPv6 elements).
    ///
    /// Each publication goes in a savepoint of its own, as `gc` collects them: one whose
    /// teardown fails is kept with its record and listed in `failed` with the error, and
    /// the others and the leftovers go all the same. What the kernel did is not rolled back:
    /// when its elements' deletion committed and the conntrack cleanup after it failed, the
    /// record is kept without elements (its ports reserved), so the next prune runs the
    /// cleanup again.
    ///
    /// The hairpin heirs of each removal (`hairpinHeirs`) come from one read of the
    /// publications, indexed by address (`HairpinHeirs`), not a read per removal.
    ///
    /// Returns the removed publications' ids (`endpoints`), the leftovers in words
    /// (`firewallObjects`) and the publications it could not remove (`failed`).
    public func prunePublications(group: String, keeping: Set<String>) throws(BerthError) -> GCReport {
        do {
            return try store.write { tx throws(BerthError) -> GCReport in
                var report = GCReport()
                let firewall = try self.firewall(tx.instance())
                // Read and indexed once: looked up per removal it is quadratic.
                var heirs = HairpinHeirs(try tx.publications())
                for publication in try tx.publications(group: group) where !keeping.contains(publication.id) {
                    // Each on its own: one whose teardown fails is kept (its record, and
                    // what the failing step left) for the next prune, the others go.
                    do throws(BerthError) {
                        try tx.savepoint { () throws(BerthError) in
                            let view = try publication.firewallView()
                            try firewall.unpublish(view, survivors: try heirs.heirs(of: publication))
                            try ConntrackCleanup.afterUnpublish(view, host: host)
                            try tx.deletePublication(id: publication.id)
                        }
                    } catch {
                        report.failed.append(GCFailure(owner: .publication, id: publication.id, error: error))
                        continue
                    }
                    heirs.remove(id: publication.id)
                    report.endpoints.append(publication.id)
                }
                let networks = try tx.networks()
                // An endpoint row that cannot be decoded is recorded all the same: its
                // elements are not leftovers.
                let (endpoints, unreadable) = try tx.endpointsLeniently()
                let live = Set(endpoints.map(\.id) + unreadable.map(\.id) + (try tx.publications().map(\.id)))
                report.firewallObjects = try firewall.removeLeftovers(knownNetworks: Set(networks.map(\.name)), liveEndpoints: live,
                                                                      dualStack: true)
                return report
            }
        } catch {
            throw error.with(operation: .prune)
        }
    }
}
