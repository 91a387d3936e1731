public import BerthCore
import BerthNamespace
import BerthNetwork
import BerthRun

/// What garbage collection of labs did.
public struct LabGarbageReport: Sendable {
    /// Labs whose first `up` crashed: taken down, their record removed.
    public var labs: [String] = []
    /// Labs whose converging `up` crashed: taken back to their last applied spec.
    public var restored: [String] = []
    /// Everything removed: crashed labs' parts, and namespaces and containers tagged for
    /// labs (of this state store) that no record claims.
    public var removed = LabRemoval()
    /// Labs whose crashed `up` could not be finished, with why: still recorded as
    /// unfinished, for `check` and the next collection.
    public var failed: [(lab: String, error: BerthError)] = []
    /// Labs it could not look at or finish for another reason (a record that cannot be
    /// read, an error taking one down), with why: left recorded; the other labs were still
    /// collected.
    public var uncollected: [(lab: String, error: BerthError)] = []

    public init() {}

    public var isEmpty: Bool { labs.isEmpty && restored.isEmpty && removed.isEmpty && removed.leftAlone.isEmpty && failed.isEmpty && uncollected.isEmpty }

    /// Whether a lab was left unfinished or uncollected (a front end exits 1).
    public var hasFailures: Bool { !failed.isEmpty || !uncollected.isEmpty }

    /// One line per thing done ("removed namespace t1-r1"), for a front end to print.
    public var lines: [String] {
        labs.map { "removed lab \($0)" } + restored.map { "restored lab \($0) to its last applied spec" }
            + removed.containers.map { "removed container \($0)" } + removed.endpoints.map { "removed endpoint \($0)" }
            + removed.namespaces.map { "removed namespace \($0)" } + removed.networks.map { "removed network \($0)" }
            + removed.leftAlone.map { "left namespace \($0) alone: it carries no tag of the lab, or its tag could not be read" }
            + failed.map { "could not restore lab \($0.lab) to its last applied spec: \($0.error.description); it stays unfinished" }
            + uncollected.map { "could not collect lab \($0.lab): \($0.error.description); it stays recorded" }
    }
}

/// Something `check` found: a lab that is not as recorded, or a leftover.
public struct LabProblem: Sendable, Hashable, CustomStringConvertible {
    public var lab: String
    public var node: String?
    /// The object at fault, in words ("network namespace t1-r1", "container t1-web").
    public var object: String
    /// What is wrong with it ("missing", "not recorded (a leftover)").
    public var problem: String
    /// Whether garbage collection removes or finishes it (else bringing the lab up again
    /// restores it).
    public var collectable: Bool

    public var description: String {
        "lab \(lab)" + (node.map { " node \($0)" } ?? "") + ": \(object): \(problem)"
    }
}

extension LabManager {
    /// Removes what crashes left, holding the lab lock (so no `up` is running): labs whose
    /// `up` died half-way are taken back to their last applied spec (or down, if they never
    /// came up) — one that cannot be stays recorded as unfinished (`failed`), never
    /// reported restored; namespaces tagged for labs of this state store that no record claims, and
    /// containers running in such namespaces, are removed.
    public func collectGarbage() throws(BerthError) -> LabGarbageReport {
        do {
            return try state.locked { () throws(BerthError) -> LabGarbageReport in try collect() }
        } catch {
            throw error.with(operation: .labGC)
        }
    }

    private func collect() throws(BerthError) -> LabGarbageReport {
        var report = LabGarbageReport()
        var known: [String: Set<String>] = [:]
        for record in try state.records() {
            // One lab's failure is reported, and the others are still collected.
            do throws(BerthError) {
                try collect(record, into: &report, known: &known)
            } catch {
                known[record.name] = record.nodes
                report.uncollected.append((record.name, error))
            }
        }
        for found in try engine.taggedNamespaces() where known[found.lab]?.contains(found.node) != true {
            report.removed.add(try engine.teardown(lab: found.lab, node: found.node))
        }
        for (container, tag) in try engine.labContainers() where known[tag.lab]?.contains(tag.node) != true {
            try engine.containers.stop(named: container.name)
            report.removed.containers.append(container.name)
        }
        return report
    }

    /// Collects one lab's record: finishes its crashed `up`, if it has one.
    private func collect(_ record: LabRecord, into report: inout LabGarbageReport, known: inout [String: Set<String>]) throws(BerthError) {
        if let damage = record.unreadable {
            known[record.name] = record.nodes
            throw BerthError(.state, "the record of lab \(record.name) cannot be read (\(damage))", object: .lab(record.name), operation: .labGC,
                             remedy: .remove(.lab(record.name)))
        }
        guard record.pending != nil else { known[record.name] = record.nodes; return }
        if let applied = record.applied {
            let keep = Set(applied.nodes.map(\.name))
            report.removed.add(try engine.down(lab: record.name, nodes: record.nodes.subtracting(keep), scanTags: false,
                                               specs: [applied] + [record.pending].compactMap { $0 }))
            let box = RecordBox(LabRecord(name: record.name, source: record.source, applied: applied, nodes: keep, networks: record.networks))
            let ledger = LabNetworkLedger(created: record.networks) { [state] created throws(BerthError) in
                box.record.networks = created
                try state.save(box.record)
            }
            do throws(BerthError) {
                try engine.converge(to: applied, from: applied, startedWith: nil, owned: keep, networks: ledger, known: [record.pending].compactMap { $0 })
            } catch {
                // Still part-way: the record stays pending for `check` and the next gc.
                var pending = record
                pending.networks = record.networks.union(ledger.created)
                try state.save(pending)
                known[record.name] = record.nodes
                report.failed.append((record.name, error))
                return
            }
            box.record.networks = ledger.created
            try state.save(box.record)
            known[record.name] = keep
            report.restored.append(record.name)
        } else {
            report.removed.add(try engine.down(lab: record.name, nodes: record.nodes, networks: record.networks,
                                               specs: [record.pending].compactMap { $0 }))
            try state.remove(named: record.name)
            report.labs.append(record.name)
        }
    }

    /// Checks every lab against the kernel, holding the lab lock: an `up` that did not
    /// finish; nodes whose namespace, endpoint or container is missing; and leftovers —
    /// namespaces and containers tagged for labs of this state store that no record claims.
    public func check() throws(BerthError) -> [LabProblem] {
        try state.locked { () throws(BerthError) -> [LabProblem] in
            var problems: [LabProblem] = []
            var known: [String: Set<String>] = [:]
            for record in try state.records() {
                known[record.name] = record.nodes
                if let damage = record.unreadable {
                    problems.append(LabProblem(lab: record.name, object: "record", problem: "cannot be read (\(damage)); taking the lab down removes it", collectable: false))
                    continue
                }
                if record.pending != nil {
                    problems.append(LabProblem(lab: record.name, object: "up", problem: "did not finish (crashed or killed)", collectable: true))
                    continue
                }
                guard let spec = record.applied else { continue }
                // One lab that cannot be observed is reported; the others are still checked.
                let observation: LabObservation
                do throws(BerthError) {
                    observation = try engine.observe(spec, known: [record.pending].compactMap { $0 })
                } catch {
                    problems.append(LabProblem(lab: record.name, object: "lab", problem: "could not be checked: \(error.description)", collectable: false))
                    continue
                }
                for node in spec.nodes {
                    guard let seen = observation.nodes[node.name], seen.exists else {
                        problems.append(LabProblem(lab: spec.name, node: node.name, object: "network namespace \(LabNames.namespace(lab: spec.name, node: node.name))",
                                                   problem: "missing", collectable: false))
                        continue
                    }
                    // The lab tags its namespaces before naming them: this one was put in its
                    // place by someone else (`ip netns del` and `add`), and `up` refuses it.
                    if !seen.tagged {
                        problems.append(LabProblem(lab: spec.name, node: node.name, object: "network namespace \(seen.namespaceName)",
                                                   problem: "is not the lab's: " + (seen.heldBy.map { "it is \($0)" } ?? "it carries no lab tag"), collectable: false))
                        continue
                    }
                    if let network = node.network, seen.endpoint?.network != network {
                        problems.append(LabProblem(lab: spec.name, node: node.name, object: "endpoint on network \(network)", problem: "missing", collectable: false))
                    }
                    if node.run != nil, !seen.containerRunning {
                        problems.append(LabProblem(lab: spec.name, node: node.name, object: "container \(LabContainers.name(lab: spec.name, node: node.name))",
                                                   problem: "not running", collectable: false))
                    }
                }
            }
            for found in try engine.taggedNamespaces() where known[found.lab]?.contains(found.node) != true {
                problems.append(LabProblem(lab: found.lab, node: found.node, object: "network namespace \(found.namespace)",
                                           problem: "tagged for the lab, not recorded (a leftover)", collectable: true))
            }
            for (container, tag) in try engine.labContainers() where known[tag.lab]?.contains(tag.node) != true {
                problems.append(LabProblem(lab: tag.lab, node: tag.node, object: "container \(container.name)",
                                           problem: "runs in a namespace tagged for the lab, not recorded (a leftover)", collectable: true))
            }
            return problems
        }
    }
}
