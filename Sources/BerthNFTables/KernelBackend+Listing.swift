import BerthCore
import BerthNetlink

/// Reading the ruleset back through nfnetlink dumps.
extension KernelBackend {
    public func list() throws(BerthError) -> Ruleset {
        typealias M = NFTNL.MessageType
        let tables = try dump(M.getTable, "list nftables tables").compactMap(NFTNL.parseTable)
        let chains = try dump(M.getChain, "list nftables chains").compactMap(NFTNL.parseChain)
        let rules = try dump(M.getRule, "list nftables rules").compactMap(NFTNL.parseRule)
        let sets = try dump(M.getSet, "list nftables sets").compactMap(NFTNL.parseSet)
        var ruleset = Ruleset()
        for table in tables {
            var contents = Ruleset.TableContents(table: table)
            for set in sets where set.family == table.family && set.table == table.name {
                var elements: [Element] = []
                let sequence = transport.nextSequence()
                var request = NetlinkRequest()
                request.append(rawMessage: NFTNL.elementsMessage(set, [], type: M.getSetElem, flags: NetlinkFlags.dump, sequence: sequence),
                               sequence: sequence, operation: "list elements of \(set.label)", expectsAck: false)
                do {
                    for message in try transport.dump(request) { elements += NFTNL.parseElements(message, of: set) }
                } catch {
                    throw error.berthError
                }
                contents.sets.append(Ruleset.SetContents(set: set, elements: elements))
            }
            for chain in chains where chain.family == table.family && chain.table == table.name {
                contents.chains.append(Ruleset.ChainContents(chain: chain, rules: rules.filter {
                    $0.family == table.family && $0.table == table.name && $0.chain == chain.name
                }))
            }
            ruleset.tables.append(contents)
        }
        return ruleset
    }

    private func dump(_ type: UInt16, _ operation: String) throws(BerthError) -> [NetlinkMessage] {
        let sequence = transport.nextSequence()
        var request = NetlinkRequest()
        request.append(rawMessage: NFTNL.message(type: type, family: 0, flags: NetlinkFlags.dump, sequence: sequence) { _ in },
                       sequence: sequence, operation: operation, expectsAck: false)
        do {
            return try transport.dump(request)
        } catch {
            throw error.berthError
        }
    }
}
