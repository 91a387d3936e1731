import BerthCore
import BerthNamespace
import BerthNetwork

extension FakeKernel {
    /// Plays the subnet-choice lock (`SubnetChoiceLock`): each take and release is noted in
    /// `subnetChoiceEvents` with the request mark it happened at, so that a test can tell
    /// which requests were made under it; `subnetChoiceHeldElsewhere` plays another process
    /// holding it past the timeout.
    /// The error is the real lock's (`SubnetChoiceLock.timedOut`), as if it waited all of
    /// `wait.limit`.
    public func lockSubnetChoice(in namespace: NetworkNamespace, wait: LockWait) throws(BerthError) -> SubnetChoiceLock {
        let label = state(of: namespace)?.label ?? "?"
        if subnetChoiceHeldElsewhere { throw SubnetChoiceLock.timedOut(wait, namespace: label, waited: wait.limit) }
        subnetChoiceEvents.append((mark, "\(label): lock subnet choice"))
        return SubnetChoiceLock { [self] in subnetChoiceEvents.append((mark, "\(label): unlock subnet choice")) }
    }

    /// What `operations(since:)` lists, with the subnet-choice lock's takes and releases
    /// among them where they happened.
    public func operationsWithSubnetChoice(since start: Int = 0) -> [String] {
        var lines: [String] = []
        var events = subnetChoiceEvents.filter { $0.mark >= start }[...]
        for index in start..<requests.count {
            while let event = events.first, event.mark <= index {
                lines.append(event.line)
                events.removeFirst()
            }
            let request = requests[index]
            lines += request.request.entries.map { "\(request.namespace): \($0.operation)" }
        }
        return lines + events.map(\.line)
    }
}
