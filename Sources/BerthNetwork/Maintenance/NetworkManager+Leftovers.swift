public import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNFTables

extension NetworkManager {
    /// Removes what an attach of endpoint `id` left in the kernel when it was killed before
    /// it committed: its tagged host veth (and with it the peer in the container's namespace)
    /// and nftables map elements tagged with its id. The state records nothing of such an
    /// attach, so `detach(id:)` cannot see it; this is `gc` narrowed to one endpoint, cheap
    /// enough for a front end to run whenever it is told an endpoint is gone.
    ///
    /// Runs under the state lock, so an attach of `id` still in progress is waited for,
    /// never cut short; when the state has a record of `id`, the endpoint is whole and this
    /// removes nothing (detaching it is `detach(id:)`'s work). Returns what it removed, in
    /// words; an empty array means there was nothing.
    public func removeLeftovers(ofEndpoint id: String) throws(BerthError) -> [String] {
        // An id attach refuses never made anything.
        guard (try? AttachOptions.validate(id: id)) != nil else { return [] }
        return try store.write { tx throws(BerthError) -> [String] in
            guard try tx.endpoint(id: id) == nil else { return [] }
            var removed: [String] = []
            let name = try KernelNames.hostVeth(forEndpoint: id)
            do throws(BerthError) {
                let link = try host.link(named: name.rawValue)
                // The alias is set in the same sendmsg as the veth is made; a veth of this
                // name tagged for another endpoint is that one's (a hash collision).
                if link.kind == .veth, link.alias == nil || KernelNames.endpointID(fromAlias: link.alias) == id {
                    do throws(BerthError) {
                        try host.deleteLink(.index(link.index))
                    } catch where error.code == .notFound {}
                    removed.append("link \(link.name)")
                }
            } catch where error.code == .notFound {
                // No veth: the attach was killed before it, or the namespace took the pair with it.
            }
            removed += try firewall.removeElements(ofEndpoint: id)
            return removed
        }
    }
}

extension Firewall {
    /// Deletes the map elements tagged with endpoint `id`; returns them in words.
    func removeElements(ofEndpoint id: String) throws(BerthError) -> [String] {
        guard let current = try backend.list().table(FirewallLayout.table.family, FirewallLayout.table.name) else { return [] }
        let tag = FirewallLayout.endpointTag(id)
        var transaction = Transaction()
        var removed: [String] = []
        for contents in current.sets {
            for element in contents.elements where element.comment == tag {
                transaction.destroy(.element(element, in: contents.set))
                removed.append("element \(element.rendered) of map \(contents.set.name)")
            }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
        return removed
    }
}
