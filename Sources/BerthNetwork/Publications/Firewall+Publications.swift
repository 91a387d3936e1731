import BerthCore
import BerthNFTables

extension Firewall {
    /// Makes Berth's tables that `endpoint`'s elements go to (`ip berth` for IPv4, `ip6
    /// berth` for IPv6; `EndpointRecord.hasElements(in:)`), with their maps, chains and
    /// static rules, where they do not exist, so ports can be published without any network
    /// of Berth's. One read of each such table, one batch.
    func installTables(for endpoint: EndpointRecord) throws(BerthError) {
        var transaction = Transaction()
        for family in [FirewallFamily.ipv4, .ipv6] where endpoint.hasElements(in: family.family) {
            guard try table(family) == nil else { continue }
            for object in family.skeleton { transaction.add(object) }
            for rule in family.staticRules { transaction.add(.rule(rule)) }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }
}

extension EndpointRecord {
    /// Whether the endpoint (or a publication's view) has map elements in `family`'s table:
    /// a port on a host address of that family, forwarded to its address of that family.
    /// The one rule for which tables publishing makes and which ones check and reconcile
    /// expect, so they never disagree about a table nothing is published in.
    func hasElements(in family: IPFamily) -> Bool {
        let hasAddress = family == .ipv4 ? address != nil : ipv6Address != nil
        return hasAddress && ports.contains { $0.hostAddress.family == family }
    }
}
