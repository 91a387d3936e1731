import BerthCore
import BerthNamespace
import BerthNetlink

/// `destroy` on kernels without NFT_MSG_DESTROY* (before 6.3): deletes of what is present,
/// guarded by the generation the check read.
extension KernelBackend {
    func applyEmulatingDestroy(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        var attempt = 0
        while true {
            attempt += 1
            let current = try self.generation()
            if let generation, generation != current {
                throw BerthError(.conflict, "the nftables ruleset changed since generation \(generation) was read", hint: "read it again and retry")
            }
            let fake = FakeBackend(state: try list())
            var rewritten: [Transaction.Operation] = []
            for operation in transaction.operations {
                var effective = operation
                if operation.verb == .destroy {
                    // Present: deleted. Absent where destroy forgives it (the object
                    // itself): dropped. Else (its table, or an element's set, is missing)
                    // refused whole, as the kernel refuses the destroy.
                    let probe = Transaction.Operation(verb: .delete, object: operation.object)
                    if fake.step(probe) != nil {
                        guard let code = fake.step(operation) else { continue }
                        throw NetlinkError(errno: Errno(code), operation: operation.description).berthError
                    }
                    effective = probe
                } else {
                    _ = fake.step(operation)
                }
                rewritten.append(effective)
            }
            guard !rewritten.isEmpty else { return }
            do {
                return try send(rewritten, generation: current)
            } catch {
                if error.netlink.errno.code == KernelErrno.restart, generation == nil, attempt < 3 { continue }
                throw explain(error, in: transaction, generation: generation ?? current)
            }
        }
    }
}
