import BerthCore
import BerthNetlink

/// Reading the ruleset back through nfnetlink dumps: all of it, or one table.
extension KernelBackend {
    /// Every table of every family with its chains, rules, named sets and their elements: one
    /// dump each of tables, chains, rules and sets, then elements set by set. The dumps are
    /// separate requests, so a batch committed in between can show in some and not others.
    /// Rules and sets it cannot parse are left out, not named in `unreadable` as
    /// `list(table:)` names them.
    public func list() throws(BerthError) -> Ruleset {
        typealias M = NFTNL.MessageType
        let tables = try dump(M.getTable, "list nftables tables").compactMap(NFTNL.parseTable)
        let chains = try dump(M.getChain, "list nftables chains").compactMap(NFTNL.parseChain)
        let rules = try dump(M.getRule, "list nftables rules").compactMap(NFTNL.parseRule)
        let sets = try dump(M.getSet, "list nftables sets").compactMap(NFTNL.parseSet)
        var ruleset = Ruleset()
        for table in tables {
            ruleset.tables.append(try contents(of: table, chains: chains, rules: rules, sets: sets))
        }
        return ruleset
    }

    /// One chain dump of every family: what other tables hook where, read without their
    /// rules or sets.
    public func listChains() throws(BerthError) -> [Chain] {
        try dump(NFTNL.MessageType.getChain, "list nftables chains").compactMap(NFTNL.parseChain)
    }

    /// Asks the kernel for `table` alone: one GETTABLE, then chain, rule and set dumps
    /// filtered by the table (see `NFTNL.dumpRequest`), then the elements of its sets only.
    /// No other table's rules, sets or elements are read, however many the host has.
    public func list(table: Table) throws(BerthError) -> Ruleset.TableContents? {
        typealias M = NFTNL.MessageType
        let label = "nftables table \(table.family) \(table.name)"
        let sequence = transport.nextSequence()
        var request = NetlinkRequest()
        request.append(rawMessage: try NFTNL.getTableRequest(table, sequence: sequence), sequence: sequence,
                       operation: "read \(label)", expectsAck: true)
        let replies: [NetlinkMessage]
        do {
            replies = try transport.transact(request)
        } catch where error.isNotFound {
            return nil
        } catch {
            throw error.berthError
        }
        guard let found = replies.lazy.compactMap(NFTNL.parseTable).first(where: { $0.family == table.family && $0.name == table.name }) else {
            return nil
        }
        var unreadable: [String] = []
        let chains = try dump(M.getChain, of: table, "list chains of \(label)").compactMap(NFTNL.parseChain)
        var rules: [Rule] = []
        for message in try dump(M.getRule, of: table, "list rules of \(label)") {
            if let rule = NFTNL.parseRule(message) { rules.append(rule) } else { unreadable.append("a rule") }
        }
        var sets: [NFTSet] = []
        do {
            for message in try dump(M.getSet, of: table, "list sets of \(label)") {
                if let set = NFTNL.parseSet(message) {
                    sets.append(set)
                } else if let named = NFTNL.parseSetName(message), named.family == table.family, named.table == table.name {
                    unreadable.append("set \(named.name)")
                }
            }
        } catch where error.code == .notFound {
            // The set dump names the table: ENOENT means it was deleted since GETTABLE.
            return nil
        }
        var listed = try contents(of: found, chains: chains, rules: rules, sets: sets)
        listed.unreadable = unreadable
        return listed
    }

    /// `table` with its sets (and their elements, read now), chains and rules, picked from
    /// dumps that may hold other tables' objects too.
    private func contents(of table: Table, chains: [Chain], rules: [Rule], sets: [NFTSet]) throws(BerthError) -> Ruleset.TableContents {
        var contents = Ruleset.TableContents(table: table)
        for set in sets where set.family == table.family && set.table == table.name {
            do {
                contents.sets.append(Ruleset.SetContents(set: set, elements: try elements(of: set)))
            } catch where error.code == .notFound {
                // The element dump names the table and the set: ENOENT means one of them was
                // deleted since the set dump (another process's rollback, a hand edit). The
                // set is listed as absent, as a dump a moment later would find it; a batch
                // planned from this listing is guarded by the generation read before it.
                continue
            }
        }
        for chain in chains where chain.family == table.family && chain.table == table.name {
            contents.chains.append(Ruleset.ChainContents(chain: chain, rules: rules.filter {
                $0.family == table.family && $0.table == table.name && $0.chain == chain.name
            }))
        }
        return contents
    }

    /// The elements of one set: a GETSETELEM dump naming its table and set.
    private func elements(of set: NFTSet) throws(BerthError) -> [Element] {
        let sequence = transport.nextSequence()
        var request = NetlinkRequest()
        request.append(rawMessage: try NFTNL.elementsMessage(set, [], type: NFTNL.MessageType.getSetElem, flags: NetlinkFlags.dump, sequence: sequence),
                       sequence: sequence, operation: "list elements of \(set.label)", expectsAck: false)
        var elements: [Element] = []
        do {
            for message in try transport.dump(request) { elements += NFTNL.parseElements(message, of: set) }
        } catch {
            throw error.berthError
        }
        return elements
    }

    private func dump(_ type: UInt16, of table: Table? = nil, _ operation: String) throws(BerthError) -> [NetlinkMessage] {
        let sequence = transport.nextSequence()
        var request = NetlinkRequest()
        request.append(rawMessage: try NFTNL.dumpRequest(type, of: table, sequence: sequence),
                       sequence: sequence, operation: operation, expectsAck: false)
        do {
            return try transport.dump(request)
        } catch {
            throw error.berthError
        }
    }
}
