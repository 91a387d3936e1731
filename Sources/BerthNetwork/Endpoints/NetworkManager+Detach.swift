import BerthCore
import BerthNamespace
import BerthNetlink

extension NetworkManager {
    /// Detaches an endpoint: removes its published ports, unplugs its veth pair and forgets
    /// it, which releases its address and ports. Detaching an unknown id succeeds: detach is
    /// idempotent, so a retry is always safe.
    ///
    /// Crash-safe both ways: the endpoint is marked as detaching, and that is committed,
    /// before the kernel is touched; an interrupted detach leaves the mark, and a later
    /// `gc`, `detach` or attach of the same id finishes it. Each step is idempotent.
    ///
    /// The caller does not wait for the kernel to delete the pair (RCU grace periods, about
    /// 20 ms): when detach returns, the pair is already out of the way — the host end down,
    /// off the bridge and renamed `vd…`, the container end down and renamed, so the same id
    /// can attach again at once — and its deletion is handed to a detached process (or left
    /// to the kernel when the namespace is gone). Both ends keep the endpoint's tag, so a
    /// crash before the deletion leaves nothing `gc` cannot find.
    ///
    /// Kernel round trips: one link lookup, one sendmsg on the host end, one inside the
    /// namespace, the hand-off, and one nftables batch when ports were published.
    ///
    /// `network`, when given, must be the endpoint's network, else the endpoint is left
    /// alone as if unknown: a caller that names the network it manages (berth-cni's DEL,
    /// whose id is the container's and interface's, the same on every network) never
    /// detaches another network's endpoint.
    ///
    /// With `acceptingShortID`, an `id` no endpoint has that is the short form of one
    /// generated id (`EndpointShortID`) detaches that endpoint; a short form of several is
    /// refused. `check`, run in the same write transaction with `id` and the endpoint found
    /// (nil for none) before anything changes, may refuse the detach by throwing: how a front
    /// end keeps an endpoint that something it knows of still uses. It runs inside the
    /// state's write lock: it reads the state through the transaction it is given only, and
    /// must not call back into this manager or its store (that takes the lock again: a
    /// deadlock, or a trap for a recursive lock).
    ///
    /// A row that cannot be decoded (the state database changed outside Berth) is detached
    /// too: the row deleted, then its veth pair and elements removed by their tag (as `gc`
    /// narrowed to `id` does); `check` is given nil for it.
    ///
    /// Returns whether the state recorded an endpoint `id` (on `network`) and detached it (a
    /// caller that cleans up after an unrecorded id needs no read transaction of its own first).
    @discardableResult
    public func detach(id: String, network: String? = nil, acceptingShortID: Bool = false,
                       check: ((StateTransaction, String, EndpointRecord?) throws(BerthError) -> Void)? = nil) throws(BerthError) -> Bool {
        do {
            var recorded = false, unreadable = false
            let resolver = try store.write { tx throws(BerthError) -> ResolverProcess? in
                var found: EndpointRecord?
                do throws(BerthError) {
                    found = try tx.endpoint(id: id)
                } catch where error.code == .state {
                    // A row changed outside Berth that cannot be decoded: forgotten as it is,
                    // its pair and elements then removed by their tag (below).
                    guard let row = try tx.unreadableEndpoint(id: id, error: error) else { throw error }
                    if let check { try check(tx, id, nil) }
                    guard network == nil || row.network == network else { return nil }
                    recorded = try tx.deleteEndpointRow(id: row.id)
                    unreadable = true
                    return nil
                }
                if found == nil, acceptingShortID { found = try tx.endpoint(shortID: id) }
                if let check { try check(tx, id, found) }
                guard let endpoint = found, network == nil || endpoint.network == network else { return nil }
                recorded = true
                Trace.mark("detach: state locked")
                let instance = try tx.instance()
                if !endpoint.isDetaching {
                    try tx.markDetaching(id: endpoint.id)
                    try tx.commitAndContinue()
                    Trace.mark("detach: marked")
                }
                try host.check(failPoint: "detach.mark")
                try finishDetach(endpoint, tx: tx, instance: instance, links: nil)
                return try resolverToReload(after: endpoint, tx: tx)
            }
            Trace.mark("detach: committed")
            // What the unreadable row's endpoint had in the kernel carries its tag: a gc
            // narrowed to its id, which the state no longer knows, removes its veth pair and
            // its elements (a crash before that leaves them to the next gc).
            if unreadable { _ = try gc(endpoint: id) }
            reloadResolver(resolver)
            return recorded
        } catch {
            throw error.with(object: .endpoint(id), operation: .detach)
        }
    }

    /// The rest of a detach, for an endpoint already marked as detaching (or about to be
    /// forgotten by gc): its elements, its veth pair, then its record. `links` is the host's
    /// link list when the caller has one; it is read only if an interrupted detach left the
    /// host end renamed.
    func finishDetach(_ endpoint: EndpointRecord, tx: StateTransaction, instance: StateInstance, links: [Link]?) throws(BerthError) {
        if !endpoint.ports.isEmpty {
            try firewall(instance).unpublish(endpoint)
            // The socket's last close would wait for the deleted elements' frees.
            host.lingerNFTablesPastExit()
            try ConntrackCleanup.afterUnpublish(endpoint, host: host)
            Trace.mark("detach: ports unpublished")
        }
        try host.check(failPoint: "detach.unpublish")
        let doomed = try unplug(endpoint, instance: instance, links: links)
        Trace.mark("detach: unplugged")
        try host.check(failPoint: "detach.unplug")
        for name in doomed { try host.deleteLinkInBackground(named: name) }
        Trace.mark("detach: deletion handed off")
        try host.check(failPoint: "detach.delete")
        _ = try tx.deleteEndpoint(id: endpoint.id)
        try host.check(failPoint: "detach.forget")
    }

    /// Takes the endpoint's veth pair out of service without waiting for its deletion: the
    /// host end down, off the bridge and renamed out of the endpoint's name (one sendmsg),
    /// the container end down and renamed (one sendmsg inside, while the namespace lives).
    /// Returns the host-side links to delete: none when the namespace is gone, as the kernel
    /// destroys the pair with it (a namespace something else still holds keeps it, and
    /// `gc` finds it by its tag).
    func unplug(_ endpoint: EndpointRecord, instance: StateInstance, links: [Link]?) throws(BerthError) -> [InterfaceName] {
        let status = host.namespaceStatus(path: endpoint.namespacePath, identity: endpoint.namespaceIdentity)
        let namespace = status.namespace
        var doomed: [InterfaceName] = []
        var renamed: String?
        if let veth = try lookupLink(endpoint.hostVeth), veth.kind == .veth {
            Trace.mark("detach: host end found")
            let name = try KernelNames.detachedVeth(index: veth.index)
            do {
                if try unplugHostEnd(veth.index, renamingTo: name) {
                    renamed = name.rawValue
                    Trace.mark("detach: host end unplugged")
                    if let namespace {
                        if try unplugPeer(of: veth, endpoint, in: namespace) {
                            doomed.append(name)
                        } else {
                            try deletePair(veth.index)
                        }
                    } else if !status.isGone {
                        // The namespace could not be opened (no permission, a resource limit)
                        // but may live, and the pair with it: deleted from this end.
                        try deletePair(veth.index)
                    }
                } else {
                    try deletePair(veth.index)
                }
            } catch where error.code == .notFound {
                // The kernel destroyed the pair meanwhile: its namespace was going away.
            }
        }
        if endpoint.isDetaching {
            // An interrupted detach may have renamed the host end already: find it by its tag.
            // A store made before instances takes a tag without an id too (its veths attached
            // then carry one): the tag names this endpoint's id, so it is this endpoint's pair.
            let all = if let links { links } else { try host.netlink.links() }
            for link in all where link.kind == .veth && link.name != endpoint.hostVeth.rawValue && link.name != renamed {
                guard let tag = KernelNames.Tag(link.alias), tag.kind == .endpoint, tag.owner == endpoint.id,
                      tag.belongs(to: instance), let name = try? InterfaceName(link.name) else { continue }
                if let namespace, try !unplugPeer(of: link, endpoint, in: namespace) {
                    try deletePair(link.index)
                } else {
                    doomed.append(name)
                }
            }
        }
        return doomed
    }

    /// The host end: renamed, down and off the bridge. Kernels since 6.2 take it in one
    /// message (they rename a link that is up), so the kernel's lock is taken once; older
    /// ones refuse that (EBUSY, nothing changed) and get three, down first.
    ///
    /// Returns false when a link already holds the new name (EEXIST: one made by hand or
    /// by another program, as the name is free while this index lives otherwise): the pair
    /// cannot be moved out of the way, and the caller deletes it at once, as it does a pair
    /// whose container end cannot be renamed — else this detach, and every gc and prune
    /// after it, would fail on that link for good.
    private func unplugHostEnd(_ index: Int32, renamingTo name: InterfaceName) throws(BerthError) -> Bool {
        do {
            do {
                try host.netlink.apply { changes throws(BerthError) in
                    try changes.update(.index(index), renameTo: name, up: false, releaseMaster: true)
                }
            } catch where Self.isBusy(error) {
                try host.netlink.apply { changes throws(BerthError) in
                    try changes.setDown(.index(index))
                    try changes.setMaster(.index(index), to: nil)
                    try changes.rename(.index(index), to: name)
                }
            }
        } catch where error.code == .alreadyExists {
            Trace.mark("detach: host end not renamed")
            return false
        }
        return true
    }

    /// The container end of `veth`: renamed and down (its routes go with it), so its name is
    /// free for a new attach at once; one message, or two on kernels before 6.2. Found by
    /// the index the host end reports; failing that, by the endpoint's interface name, if
    /// that is a veth with the endpoint's MAC whose peer is `veth` (an interface the
    /// container made under that name is never touched). Returns false when it is not
    /// found while the pair lives, or cannot be renamed (the container made a link of the
    /// `vd…` name first): the caller must not leave it in the namespace, and deletes the pair.
    private func unplugPeer(of veth: Link, _ endpoint: EndpointRecord, in namespace: NetworkNamespace) throws(BerthError) -> Bool {
        let inside = try host.netlink(in: namespace)
        Trace.mark("detach: socket in the namespace")
        let index: Int32
        if let peer = veth.peerIndex {
            index = peer
        } else if let named = try? inside.link(named: endpoint.interfaceName.rawValue), named.kind == .veth,
                  named.mac == endpoint.mac, named.peerIndex == nil || named.peerIndex == veth.index {
            index = named.index
        } else {
            return false
        }
        let name = try KernelNames.detachedVeth(index: index)
        do {
            do {
                try inside.apply { changes throws(BerthError) in try changes.update(.index(index), renameTo: name, up: false) }
            } catch where Self.isBusy(error) {
                try inside.apply { changes throws(BerthError) in
                    try changes.setDown(.index(index))
                    try changes.rename(.index(index), to: name)
                }
            }
        } catch where error.code == .notFound {
            // Gone with its pair already.
        } catch {
            // It cannot be moved out of the way: the container holds a link of the new name
            // (it sees the index the name is made of, and may make links in its own
            // namespace: EEXIST), or the kernel refused the rename otherwise. Left to the
            // caller to delete with its pair, so that no container can make its own detach,
            // and with it every gc, fail for good.
            Trace.mark("detach: container end not renamed")
            return false
        }
        return true
    }

    /// Deletes the pair whose host end is `index` and waits for the kernel (12–23 ms): the
    /// slow way, for a container end that could not be taken out of the way.
    private func deletePair(_ index: Int32) throws(BerthError) {
        do {
            try host.netlink.deleteLink(.index(index))
            Trace.mark("detach: pair deleted")
        } catch where error.code == .notFound {
            // Gone with its namespace meanwhile.
        }
    }

    /// EBUSY: what kernels before 6.2 answer a rename of a link that is up.
    private static func isBusy(_ error: BerthError) -> Bool {
        (error.cause as? NetlinkError)?.errno.code == 16
    }
}
