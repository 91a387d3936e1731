public import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Publishes host ports to an address that another program configured (a namespace
    /// wired by someone else): records the publication and adds one map element per port,
    /// in one batch, and nothing else — no link, address, route or rule. Refused keys and
    /// any failure leave nothing behind.
    ///
    /// For ports reachable on 127.0.0.1 (published there or on every address) to work,
    /// `hostLink` (the bridge the address is reached through) gets `route_localnet`, as
    /// Berth's own bridges do.
    @discardableResult
    public func publish(_ options: PublicationOptions) throws(BerthError) -> PublicationRecord {
        try AttachOptions.validate(id: options.id)
        guard !options.group.isEmpty else {
            throw BerthError(.invalidArgument, "a publication needs a group name", operation: .publish, parameter: "group")
        }
        guard !options.address.isUnspecified, !options.address.isLoopback, !options.address.isMulticast else {
            throw BerthError(.invalidArgument, "cannot publish ports to address \(options.address)", operation: .publish, parameter: "address")
        }
        let namespace = try NetworkNamespace.open(nameOrPath: options.namespace)
        if namespace == hostNamespace {
            throw BerthError(.invalidArgument, "\(options.namespace) is the host's own network namespace", object: .namespace(options.namespace),
                             operation: .publish, parameter: "namespace")
        }
        return try store.write { tx throws(BerthError) -> PublicationRecord in
            let publicationExists = try tx.publication(id: options.id) != nil
            let endpointExists = try tx.endpoint(id: options.id) != nil
            if publicationExists || endpointExists {
                throw BerthError(.alreadyExists, "id \(options.id) is already in use", object: .endpoint(options.id), operation: .publish,
                                 parameter: "id", remedy: .chooseAnother(parameter: "id"))
            }
            var allocator = PortAllocator(transaction: tx, endpointID: options.id, hostNamespace: foreignHostNamespace)
            let ports = try allocator.resolve(options.ports) { () throws(BerthError) -> Set<IPAddress> in
                Set(try host.addresses(family: .ipv4).map(\.cidr.address))
            }
            let record = PublicationRecord(id: options.id, group: options.group, address: options.address, namespacePath: namespace.path,
                                           namespaceIdentity: namespace.identity, hostLink: options.hostLink, created: StateClock.now(),
                                           ports: ports)
            try tx.insertPublication(record)
            if let link = options.hostLink, ports.contains(where: { $0.hostAddress.isLoopback || $0.hostAddress.isUnspecified }) {
                do throws(BerthError) {
                    try hostNamespace.setSysctl("net/ipv4/conf/\(link)/route_localnet", to: "1")
                } catch where error.code == .notFound {
                    throw BerthError(.notFound, "host link \(link) does not exist", object: .link(link.rawValue), operation: .publish,
                                     parameter: "hostLink")
                }
            }
            let view = try record.firewallView()
            do throws(BerthError) {
                try firewall.publish(view)
            } catch where error.code == .notFound {
                // No Berth network has made the table yet: make its skeleton, then publish.
                try firewall.installTable()
                try firewall.publish(view)
            }
            do throws(BerthError) {
                try ConntrackCleanup.afterPublish(view, in: foreignHostNamespace)
            } catch {
                try? firewall.unpublish(view)
                throw error
            }
            return record
        }
    }

    /// Removes a publication's map elements and its record. Unpublishing an unknown id
    /// succeeds, so a retry after a crash is always safe.
    public func unpublish(id: String) throws(BerthError) {
        try store.write { tx throws(BerthError) in
            guard let record = try tx.publication(id: id) else { return }
            let view = try record.firewallView()
            try firewall.unpublish(view)
            try ConntrackCleanup.afterUnpublish(view, in: foreignHostNamespace)
            try tx.deletePublication(id: id)
        }
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
