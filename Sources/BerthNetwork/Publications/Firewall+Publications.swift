import BerthCore
import BerthNFTables

extension Firewall {
    /// Makes Berth's tables that `endpoint`'s elements go to (`ip berth` for IPv4, `ip6
    /// berth` for IPv6), with their maps, chains and static rules, where they do not exist,
    /// so ports can be published without any network of Berth's. One read of each such
    /// table, one batch.
    func installTables(for endpoint: EndpointRecord) throws(BerthError) {
        var transaction = Transaction()
        let families = [FirewallFamily.ipv4, .ipv6].filter { family in
            endpoint.ports.contains { $0.hostAddress.family == family.family }
        }
        for family in families {
            guard try table(family) == nil else { continue }
            for object in family.skeleton { transaction.add(object) }
            for rule in family.staticRules { transaction.add(.rule(rule)) }
        }
        if !transaction.isEmpty { try backend.apply(transaction) }
    }
}
