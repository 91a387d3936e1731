import BerthCore
import BerthNFTables

extension Firewall {
    /// Makes Berth's table with its maps, chains and static rules if it does not exist, so
    /// ports can be published without any network of Berth's. One read of Berth's table,
    /// one batch.
    func installTable() throws(BerthError) {
        guard try table() == nil else { return }
        var transaction = Transaction()
        for object in FirewallLayout.skeleton { transaction.add(object) }
        for rule in FirewallLayout.staticRules { transaction.add(.rule(rule)) }
        try backend.apply(transaction)
    }
}
