import BerthCore
import BerthNetlink

/// Refusals explained: a changed generation is a conflict, a refusal the fake gives for what
/// the operation is (`FakeBackend.refusal`) is worded as the fake words it, and a refusal the
/// fake would not have given names the kernel feature (module) that is missing.
extension KernelBackend {
    /// Turns a refusal into a BerthError; a refusal the fake (same semantics, all features)
    /// would not have given means the kernel lacks a feature: `.unsupported`, naming it.
    func explain(_ failure: BatchFailure, in transaction: Transaction, generation: UInt32?) -> BerthError {
        let error = failure.netlink
        if error.errno.code == KernelErrno.restart, generation != nil {
            return BerthError(.conflict, "the nftables ruleset changed since generation \(generation ?? 0) was read", hint: "read it again and retry", cause: error)
        }
        guard let operation = failure.operation,
              error.errno.code == KernelErrno.notSupported || error.errno.code == KernelErrno.noEntry else { return error.berthError }
        // Replayed on the fake from what the kernel holds (the batch changed nothing): a
        // module is blamed only when the fake, which has every feature, accepts the operation.
        guard let current = try? list() else { return error.berthError }
        let fake = FakeBackend(state: current)
        for earlier in transaction.operations {
            if earlier == operation { break }
            _ = fake.step(earlier)
        }
        if error.errno.code == KernelErrno.notSupported, let reason = fake.refusal(of: operation) {
            return FakeBackend.refusedError(operation, reason, cause: error)
        }
        guard let features = Self.features(operation), fake.step(operation) == nil else { return error.berthError }
        return BerthError(.unsupported, "\(operation): the kernel lacks \(features)",
                          hint: "load the module (modprobe) or use a kernel built with it", cause: error)
    }

    /// The kernel features (modules) an operation needs beyond nf_tables itself.
    static func features(_ operation: Transaction.Operation) -> String? {
        switch operation.object {
        case .chain(let c) where c.base?.type == .nat: return "the nat chain type (nft_chain_nat)"
        case .chain(let c) where c.base?.type == .route: return "the route chain type (nft_chain_route)"
        case .rule(let r):
            var names: [String] = []
            for statement in r.statements {
                let name: String? = switch statement {
                case .fibDaddrTypeLocal: "fib (nft_fib)"
                case .ctState, .ctStatusDnat: "conntrack matching (nft_ct)"
                case .dnat, .dnatMap: "nat (nft_nat)"
                case .masquerade: "masquerade (nft_masq)"
                case .counter: "counters (nft_counter)"
                default: nil
                }
                if let name, !names.contains(name) { names.append(name) }
            }
            return names.isEmpty ? nil : "an nftables feature this rule needs: " + names.joined(separator: ", ")
        default: return nil
        }
    }
}
