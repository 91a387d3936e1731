internal import CMNL
public import BerthCore
public import BerthNamespace

/// RTEXT_FILTER_SKIP_STATS: leave the counters out of link replies; Berth never reads them.
private let skipStats: UInt32 = 1 << 3

extension RouteNetlink {
    // MARK: - Reading links

    /// Every link of the namespace, in index order.
    public func links() throws(BerthError) -> [Link] {
        let messages = try dump(type: RTM.getLink, operation: "list links\(whereabouts)") { b in
            b.putFamilyHeader(ifinfomsg())
            b.put(IFLA.extMask, u32: skipStats)
        }
        return messages.compactMap(Link.init(message:)).sorted { $0.index < $1.index }
    }

    /// The link named or numbered by `link`: one RTM_GETLINK, not a dump.
    public func link(_ link: LinkReference) throws(BerthError) -> Link {
        var header = ifinfomsg()
        if case .index(let index) = link { header.ifi_index = index }
        var request = NetlinkRequest()
        let sequence = transport.nextSequence()
        try request.append(type: RTM.getLink, flags: 0, sequence: sequence, operation: "get link \(link)\(whereabouts)") { b in
            b.putFamilyHeader(header)
            if case .name(let name) = link { b.put(IFLA.ifname, string: name.rawValue) }
            b.put(IFLA.extMask, u32: skipStats)
        }
        let replies: [NetlinkMessage]
        do {
            replies = try transport.transact(request)
        } catch where error.isNotFound {
            throw BerthError(.notFound, "link \(link) does not exist\(whereabouts)", object: object(.link, "\(link)"),
                             remedy: .listExisting(.link), cause: error)
        } catch {
            throw error.berthError
        }
        guard let found = replies.lazy.compactMap(Link.init(message:)).first else {
            throw BerthError(.notFound, "link \(link) does not exist\(whereabouts)", object: object(.link, "\(link)"),
                             remedy: .listExisting(.link))
        }
        return found
    }

    /// The link called `name`.
    public func link(named name: String) throws(BerthError) -> Link {
        try link(.named(name))
    }

    /// The link with interface index `index`.
    public func link(index: Int32) throws(BerthError) -> Link {
        try link(.index(index))
    }

    // MARK: - Changing links

    /// Creates a link of a kind that needs no type-specific data. An unknown kind fails as
    /// `.unsupported` with the kernel's message.
    @discardableResult
    public func createLink(named name: InterfaceName, kind: LinkKind, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool = false) throws(BerthError) -> Link {
        let echoed = try apply { changes throws(BerthError) in try changes.createLink(named: name, kind: kind, mtu: mtu, mac: mac, up: up) }
        return try created(name, echoed)
    }

    /// Creates a bridge and returns it as the kernel made it.
    @discardableResult
    public func createBridge(named name: InterfaceName, mtu: UInt32? = nil, mac: MACAddress? = nil, up: Bool = false) throws(BerthError) -> Link {
        try createLink(named: name, kind: .bridge, mtu: mtu, mac: mac, up: up)
    }

    /// Creates a veth pair whose peer is born in `peerNamespace`; see `NetlinkChanges.createVeth`.
    /// Returns the local end; its `peerIndex` is the peer's index in the other namespace.
    @discardableResult
    public func createVeth(named name: InterfaceName, peer: InterfaceName, peerNamespace: NetworkNamespace? = nil,
                           master: LinkReference? = nil, up: Bool = false, mtu: UInt32? = nil,
                           mac: MACAddress? = nil, peerMAC: MACAddress? = nil) throws(BerthError) -> Link {
        let masterIndex = try master.map { ref throws(BerthError) in try index(of: ref) }
        let echoed = try apply { changes throws(BerthError) in
            try changes.createVeth(named: name, peer: peer, peerNamespace: peerNamespace, master: masterIndex.map { .index($0) },
                                   up: up, mtu: mtu, mac: mac, peerMAC: peerMAC)
        }
        var link = try created(name, echoed)
        // The kernel echoes the link before it enslaves it; the ack says the master is set.
        if let masterIndex { link.masterIndex = masterIndex }
        return link
    }

    /// Deletes a link; a veth takes its peer with it.
    public func deleteLink(_ link: LinkReference) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.deleteLink(link) }
    }

    /// Sets a link up.
    public func setUp(_ link: LinkReference) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setUp(link) }
    }

    /// Sets a link down.
    public func setDown(_ link: LinkReference) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setDown(link) }
    }

    /// Enslaves `link` to a bridge, or frees it when `master` is nil.
    public func setMaster(_ link: LinkReference, to master: LinkReference?) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setMaster(link, to: master) }
    }

    /// Sets the MTU.
    public func setMTU(_ link: LinkReference, to mtu: UInt32) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setMTU(link, to: mtu) }
    }

    /// Sets the hardware address.
    public func setMAC(_ link: LinkReference, to mac: MACAddress) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setMAC(link, to: mac) }
    }

    /// Sets or (with nil) clears the alias.
    public func setAlias(_ link: LinkReference, to alias: String?) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.setAlias(link, to: alias) }
    }

    /// Renames a link; see `NetlinkChanges.rename`.
    public func rename(_ link: LinkReference, to name: InterfaceName) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.rename(link, to: name) }
    }

    /// Moves a link to another namespace.
    public func move(_ link: LinkReference, to namespace: NetworkNamespace) throws(BerthError) {
        try apply { changes throws(BerthError) in try changes.move(link, to: namespace) }
    }

    /// The link the kernel echoed for a creation, or a lookup when the transport echoes nothing.
    private func created(_ name: InterfaceName, _ echoed: [Link]) throws(BerthError) -> Link {
        if let link = echoed.last(where: { $0.name == name.rawValue }) { return link }
        return try link(.name(name))
    }

    /// The index of `link`, asking the kernel when it is given by name.
    func index(of link: LinkReference) throws(BerthError) -> Int32 {
        switch link {
        case .index(let index): index
        case .name: try self.link(link).index
        }
    }
}
