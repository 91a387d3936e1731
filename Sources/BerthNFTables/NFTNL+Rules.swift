internal import CNFTNL
import BerthCore
import BerthNetlink

/// Rules: the libnftnl rule, its NEWRULE/DELRULE message, its `nft --debug=netlink` text
/// and the parser of GETRULE replies.
extension NFTNL {
    /// A libnftnl rule for `rule` (with `exprs`, its compiled expressions); the caller frees it.
    static func makeRule(_ rule: Rule, exprs: [Expr]? = nil) throws(BerthError) -> OpaquePointer {
        guard let r = nftnl_rule_alloc() else { throw BerthError(.system, "allocate an nftnl rule") }
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), rule.table)
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
        nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), rule.family.nfproto)
        if let handle = rule.handle { nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue), handle) }
        if let position = rule.position { nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_POSITION.rawValue), position) }
        if let comment = rule.comment {
            let data = userdata(0, comment)
            data.withUnsafeBytes { _ = nftnl_rule_set_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        }
        for expr in exprs ?? Compiler.compile(rule) {
            guard let e = make(expr) else {
                nftnl_rule_free(r)
                throw .invalid("rule \"\(rule.rendered)\" contains an expression Berth cannot build: \(expr)")
            }
            nftnl_rule_add_expr(r, e)
        }
        return r
    }

    /// The `nft --debug=netlink` form of a rule's expressions: one `[ … ]` line each.
    static func debugText(_ rule: Rule) throws(BerthError) -> String {
        let r = try makeRule(rule)
        defer { nftnl_rule_free(r) }
        var buffer = [CChar](repeating: 0, count: 8192)
        let n = nftnl_rule_snprintf(&buffer, buffer.count, r, UInt32(NFTNL_OUTPUT_DEFAULT.rawValue), 0)
        guard n >= 0 else { return "" }
        let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).dropFirst().map { $0.trimmingPrefixSpaces() }.joined(separator: "\n")
    }

    static func ruleMessage(_ rule: Rule, type: UInt16, flags: UInt16, sequence: UInt32) throws(BerthError) -> [UInt8] {
        var stripped = rule
        if type != MessageType.newRule { stripped.statements = [] }
        let r: OpaquePointer
        // libnftnl writes the message without checking the buffer's end: size it from what
        // goes in (the transaction refused a rule the kernel would not take, `Rule.validate`).
        let exprs = Compiler.compile(stripped)
        if type == MessageType.newRule {
            r = try makeRule(stripped, exprs: exprs)
        } else {
            guard let bare = nftnl_rule_alloc() else { throw BerthError(.system, "allocate an nftnl rule") }
            nftnl_rule_set_str(bare, UInt16(NFTNL_RULE_TABLE.rawValue), rule.table)
            nftnl_rule_set_str(bare, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
            nftnl_rule_set_u32(bare, UInt16(NFTNL_RULE_FAMILY.rawValue), rule.family.nfproto)
            if let handle = rule.handle { nftnl_rule_set_u64(bare, UInt16(NFTNL_RULE_HANDLE.rawValue), handle) }
            r = bare
        }
        defer { nftnl_rule_free(r) }
        return try message(type: type, family: rule.family.nfproto, flags: flags, sequence: sequence,
                           capacity: ruleMessageSize(stripped, exprs: exprs)) { nlh in
            nftnl_rule_nlmsg_build_payload(nlh, r)
        }
    }

    static func parseRule(_ message: NetlinkMessage) -> Rule? {
        withHeader(message) { nlh in
            guard let r = nftnl_rule_alloc() else { return nil }
            defer { nftnl_rule_free(r) }
            guard nftnl_rule_nlmsg_parse(nlh, r) >= 0, let family = Family(nfproto: nftnl_rule_get_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue))) else { return nil }
            var exprs: [Expr] = []
            if let iter = nftnl_expr_iter_create(r) {
                while let e = nftnl_expr_iter_next(iter) { exprs.append(read(e)) }
                nftnl_expr_iter_destroy(iter)
            }
            let udata = nftnl_rule_is_set(r, UInt16(NFTNL_RULE_USERDATA.rawValue))
                ? data { nftnl_rule_get_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), $0) } : []
            return Rule(family: family, table: string(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_TABLE.rawValue))),
                        chain: string(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue))),
                        Decompiler.statements(exprs, family: family), comment: comment(in: udata, type: 0),
                        handle: nftnl_rule_get_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue)))
        }
    }
}

extension Substring {
    func trimmingPrefixSpaces() -> String { String(drop(while: { $0 == " " })) }
}
