import BerthCore
import BerthNetlink

/// What the kernel refuses with EOPNOTSUPP although every module is there: a nat chain where
/// nat cannot hook, a nat statement outside the nat chains that may hold it, a jump to a
/// base chain. The fake refuses the same, in words, and `KernelBackend.explain` uses the same
/// words rather than blame a missing module.
extension FakeBackend {
    /// Why the kernel refuses `operation` against `state` for what it is, not for a missing
    /// feature; nil if it does not.
    static func refusal(_ operation: Transaction.Operation, in state: Ruleset) -> String? {
        switch (operation.object, operation.verb) {
        case (.chain(let chain), .add), (.chain(let chain), .create):
            guard let base = chain.base, base.type == .nat else { return nil }
            // nft_chain_nat registers prerouting, input, output and postrouting only, and
            // nf_tables refuses a nat chain at or before conntrack (priority -200).
            if base.hook == .forward { return "a nat chain cannot hook forward (only prerouting, input, output or postrouting)" }
            if base.priority.value <= -200 { return "a nat chain needs a priority above -200 (conntrack's), not \(base.priority.value)" }
            return nil
        case (.rule(let rule), .add), (.rule(let rule), .insert), (.rule(let rule), .replace):
            guard let table = state.table(rule.family, rule.table),
                  let chain = table.chains.first(where: { $0.chain.name == rule.chain })?.chain else { return nil }
            for statement in rule.statements {
                switch statement {
                case .dnat, .dnatMap:
                    // nft_nat_validate: a nat chain, at prerouting or output for dnat.
                    if let base = chain.base, base.type != .nat || (base.hook != .prerouting && base.hook != .output) {
                        return "dnat only works in a nat chain at prerouting or output, and chain \(chain.name) is '\(base.rendered)'"
                    }
                case .masquerade:
                    // nft_masq_validate: a nat chain at postrouting.
                    if let base = chain.base, base.type != .nat || base.hook != .postrouting {
                        return "masquerade only works in a nat chain at postrouting, and chain \(chain.name) is '\(base.rendered)'"
                    }
                case .jump(let target), .goto(let target):
                    // nft_verdict_init: a base chain is entered from its hook only.
                    if table.chains.contains(where: { $0.chain.name == target && $0.chain.base != nil }) {
                        return "\(target) is a base chain; jump and goto lead only to regular chains"
                    }
                default: break
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// `refusal(_:in:)` against this fake's state.
    func refusal(of operation: Transaction.Operation) -> String? { Self.refusal(operation, in: (try? list()) ?? Ruleset()) }

    /// The error for `operation`, refused for `reason`, with the kernel's errno as its cause.
    static func refusedError(_ operation: Transaction.Operation, _ reason: String, cause: NetlinkError) -> BerthError {
        BerthError(.invalidArgument, "\(operation): \(reason)", cause: cause)
    }
}
