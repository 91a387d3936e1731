public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Publishes host ports to an address that another program configured (a namespace
    /// wired by someone else): records the publication and adds one map element per port
    /// and family, in one batch, and nothing else — no link, address, route or rule. IPv6
    /// elements go to `ip6 berth` as a dual-stack endpoint's do; a table of Berth's that the
    /// elements need and no network made yet is made in their batch. Refused keys and any
    /// failure leave nothing behind, not even such a table; a crash before the record
    /// commits leaves elements tagged with the id, which `gc` and `prunePublications`
    /// remove.
    ///
    /// For ports reachable on 127.0.0.1 (published there or on every address) to work,
    /// `hostLink` (the bridge the address is reached through) gets `route_localnet`, as
    /// Berth's own bridges do, after the batch that makes Berth's table with its loopback
    /// guard (a crash between them leaves no `route_localnet` without the guard); a publish
    /// that fails turns it back off if it turned it on.
    /// Once on, it stays on when the publication goes (as the reference portmap plugin
    /// leaves it): the state does not record which publication turned it on.
    @discardableResult
    public func publish(_ options: PublicationOptions) throws(BerthError) -> PublicationRecord {
        do {
            return try publishPorts(options)
        } catch {
            throw error.with(object: .publication(options.id), operation: .publish)
        }
    }

    private func publishPorts(_ options: PublicationOptions) throws(BerthError) -> PublicationRecord {
        try AttachOptions.validate(id: options.id)
        guard !options.group.isEmpty else {
            throw .invalid("a publication needs a group name", hint: "name the set of publications it belongs to", parameter: "group")
        }
        guard options.address != nil || options.ipv6Address != nil else {
            throw .invalid("a publication needs an address to forward to", hint: "give the container's IPv4 address, its IPv6 address, or both",
                           parameter: "address")
        }
        if let address = options.address, address.isUnspecified || address.isLoopback || address.isMulticast {
            throw .invalid("cannot publish ports to address \(address)", hint: "give the container's own unicast address", parameter: "address")
        }
        if let address = options.ipv6Address, address.isUnspecified || address.isLoopback || address.isMulticast || address.isLinkLocal {
            // A DNATed packet to a link-local address could not be routed to one interface.
            throw .invalid("cannot publish ports to IPv6 address \(address)", hint: "give the container's own global or unique local IPv6 address",
                           parameter: "ipv6Address")
        }
        let namespace: NetworkNamespace
        do {
            namespace = try host.open(options.namespace)
        } catch {
            throw error.with(object: .namespace(options.namespace.description), parameter: "namespace")
        }
        if let role = host.reservedRole(of: namespace) {
            throw .invalid("\(options.namespace) is \(role)", hint: "publish to a container's namespace",
                           parameter: "namespace", object: .namespace(options.namespace.description))
        }
        // Recorded for gc to find the namespace again (see attach).
        try RecordedNamespacePath.requireLasting(namespace.path, reference: options.namespace.description)
        return try store.write { tx throws(BerthError) -> PublicationRecord in
            let publicationExists = try tx.publication(id: options.id) != nil
            let endpointExists = try tx.endpoint(id: options.id) != nil
            if publicationExists || endpointExists {
                throw BerthError(.alreadyExists, "id \(options.id) is already in use", hint: "choose another id, or remove what holds it first",
                                 object: .publication(options.id), parameter: "id", remedy: .chooseAnother(parameter: "id"))
            }
            var allocator = PortAllocator(transaction: tx, endpointID: options.id, host: host)
            let ports = try allocator.resolve(options.ports, to: .publication(options)) { (family) throws(BerthError) -> Set<IPAddress> in
                Set(try host.netlink.addresses(family: family).map(\.cidr.address))
            }
            let record = PublicationRecord(id: options.id, group: options.group, address: options.address, ipv6Address: options.ipv6Address,
                                           namespacePath: namespace.path, namespaceIdentity: namespace.identity, hostLink: options.hostLink,
                                           created: StateClock.now(), ports: ports)
            try tx.insertPublication(record)
            // IPv4 only: IPv6 has no route_localnet, and [::1] is never published.
            let localnetLink: InterfaceName? = if let link = options.hostLink,
                ports.contains(where: { $0.hostAddress.family == .ipv4 && ($0.hostAddress.isLoopback || $0.hostAddress.isUnspecified) }) { link } else { nil }
            if let link = localnetLink {
                // Read before the batch, changing nothing: a host link that does not exist is
                // refused before any element goes in.
                _ = try Self.hostLinkSysctl(link) { (key) throws(BerthError) in try host.sysctl(key) }
            }
            let view = try record.firewallView()
            // Its elements carry this instance's tag, as an endpoint's do.
            let firewall = try self.firewall(tx.instance())
            return try Rollback.perform { rollback throws(BerthError) -> PublicationRecord in
                // Tables no Berth network has made yet (`ip6 berth` for the IPv6 elements) come
                // in the elements' batch, so a refused batch leaves none; the undo takes back
                // the tables it made with the elements.
                let made = try firewall.publishMakingTables(view)
                rollback.add("unpublish the ports of publication \(record.id)") { () throws(BerthError) in
                    try firewall.unpublish(view, madeTables: made)
                }
                try host.check(failPoint: "publish.elements")
                // After the batch that made Berth's table with its guard (127/8 arriving
                // anywhere but lo is dropped), never before: a publish killed between the two
                // leaves tagged elements that gc removes, and the link as it was — never
                // route_localnet on without the guard, which would let the link's neighbours
                // reach the host's loopback services (CVE-2020-8558). A network's create
                // orders its bridge's the same way. The link is not Berth's (a CNI main
                // plugin's bridge): a publish that fails turns back off what it turned on,
                // newest first, so before its elements and the table they may take with them.
                if let link = localnetLink {
                    let key = "net/ipv4/conf/\(link)/route_localnet"
                    if try Self.hostLinkSysctl(link, { (key) throws(BerthError) in try host.setSysctl(key, to: "1") }) {
                        rollback.add("set \(key) back to 0") { () throws(BerthError) in
                            _ = try self.host.setSysctl(key, to: "0")
                        }
                    }
                }
                try ConntrackCleanup.afterPublish(view, host: host)
                try host.check(failPoint: "publish.conntrack")
                // Committed inside the rollback's scope: a COMMIT that fails takes the
                // elements back as any failing step does.
                try host.check(failPoint: "state.commit")
                try tx.commit()
                return record
            }
        }
    }

    /// Runs `body` on the `route_localnet` key of host link `link`, a missing link being the
    /// caller's mistake: `.notFound` naming the link and the `hostLink` parameter.
    private static func hostLinkSysctl<T>(_ link: InterfaceName, _ body: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        do throws(BerthError) {
            return try body("net/ipv4/conf/\(link)/route_localnet")
        } catch where error.code == .notFound {
            throw BerthError(.notFound, "host link \(link) does not exist", hint: "name the host-side link of the container's address",
                             object: .link(link.rawValue), parameter: "hostLink")
        }
    }

    /// Removes a publication's map elements and its record. Unpublishing an unknown id
    /// succeeds, so a retry after a crash is always safe; `group`, when given, must be the
    /// publication's, else it is left alone as if unknown (a caller that names the set of
    /// publications it manages never removes another's).
    ///
    /// When the state records nothing for `id` (no publication, no endpoint), this
    /// instance's map elements tagged with exactly `id`, in `ip berth` and `ip6 berth`, are
    /// removed: what a publish of `id` left whose batch went in and whose record never
    /// committed (killed before its commit, its undo failed, or the batch's answers were
    /// lost). Under the state lock no publish is in flight, so none is cut short. Only this
    /// path reads the tables: a publish commits no record before its batch, so its usual
    /// cost stays one transaction. Returns those leftovers, in words.
    @discardableResult
    public func unpublish(id: String, group: String? = nil) throws(BerthError) -> [String] {
        do {
            return try store.write { tx throws(BerthError) -> [String] in
                guard let record = try tx.publication(id: id) else {
                    guard (try? AttachOptions.validate(id: id)) != nil, !(try tx.idHolders(id)).endpoint else { return [] }
                    return try firewall(tx.instance()).removeLeftovers(knownNetworks: Set(try tx.networks().map(\.name)), liveEndpoints: [],
                                                                       scope: .endpoint(id), dualStack: true)
                }
                guard group == nil || record.group == group else { return [] }
                let view = try record.firewallView()
                try firewall(tx.instance()).unpublish(view, survivors: try hairpinHeirs(of: record, tx))
                try ConntrackCleanup.afterUnpublish(view, host: host)
                try tx.deletePublication(id: id)
                return []
            }
        } catch {
            throw error.with(object: .publication(id), operation: .unpublish)
        }
    }

    /// This instance's other publications to an address of `publication` (as firewall
    /// views): the ones whose hairpin its element may serve, for `Firewall.unpublish`.
    func hairpinHeirs(of publication: PublicationRecord, _ tx: StateTransaction) throws(BerthError) -> [EndpointRecord] {
        let addresses = publication.addresses
        var heirs: [EndpointRecord] = []
        for other in try tx.publications() where other.id != publication.id && other.addresses.contains(where: addresses.contains) {
            heirs.append(try other.firewallView())
        }
        return heirs
    }

    /// One publication by exact id, or nil.
    public func publication(id: String) throws(BerthError) -> PublicationRecord? {
        try store.read { tx throws(BerthError) in try tx.publication(id: id) }
    }

    /// Every publication, or those of one group.
    public func publications(group: String? = nil) throws(BerthError) -> [PublicationRecord] {
        try store.read { tx throws(BerthError) in try tx.publications(group: group) }
    }
}
