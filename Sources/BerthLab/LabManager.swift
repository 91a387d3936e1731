public import BerthCore
public import BerthNetlink
public import BerthNetwork
public import BerthRun
import BerthNamespace

/// Labs with memory: `up`, `down`, `list`, `inspect`, `impair`, garbage collection and
/// `check`, over Berth's shared state store, each holding the lab lock (`LabState`).
///
/// `up` records its intent (the nodes it may make, then each network before it creates it)
/// before it touches the kernel, so a crash at any point leaves a record that `down` and
/// `collectGarbage` finish from; the kernel objects also carry tags (`LabNames`) for when
/// the record is gone. Records keep specs as JSON, so nothing here parses YAML.
public final class LabManager: Sendable {
    public let state: LabState
    public let engine: LabEngine

    public init(state: LabState, engine: LabEngine) {
        self.state = state
        self.engine = engine
    }

    /// Labs over `manager`'s state store and host namespace; `supervisor` starts run nodes'
    /// containers (nil refuses them).
    public convenience init(manager: NetworkManager, supervisor: Supervisor.Entry? = nil, stopTimeout: Duration = .zero) throws(BerthError) {
        self.init(state: try LabState(store: manager.store), engine: LabEngine(manager: manager, supervisor: supervisor, stopTimeout: stopTimeout))
    }

    /// Brings a lab up or converges it to `spec`; all or nothing. With `dryRun`, returns
    /// the plan and changes nothing. Either way, names the namespaces of nodes the file no
    /// longer has that are left in place because they carry no tag of the lab. `file`: the
    /// absolute path of the lab file, which the record and its specs keep as their source
    /// (`lab(file:)` finds the lab by it); errors during the `up` name `spec.source`, the
    /// path as given.
    @discardableResult
    public func up(_ spec: LabSpec, dryRun: Bool = false, file: String? = nil) throws(BerthError) -> LabUpOutcome {
        try spec.validate()
        var recorded = spec
        if let file { recorded.source = file }
        let leftAlone = LabLeftAlone()
        let actions = try state.locked { () throws(BerthError) -> [LabAction] in
            let record = try state.record(named: spec.name)
            let owned = record?.nodes ?? []
            try engine.preflight(spec)
            try engine.reserveDescriptors(spec, owned: owned.union(record?.applied?.nodes.map(\.name) ?? []))
            try engine.refuseForeignNamespaces(spec, owned: owned)
            // After a crash the lab cannot tell what its containers were started from.
            let startedWith = record?.pending == nil ? record?.applied : nil
            if dryRun {
                // As `converge` below is given them, so that the plan is what it would do.
                return try engine.plan(spec, from: record?.applied, startedWith: startedWith, owned: owned, createdNetworks: record?.networks ?? [],
                                       known: [record?.pending].compactMap { $0 }, leftAlone: leftAlone)
            }
            let intent = RecordBox(record ?? LabRecord(name: spec.name, source: recorded.source))
            intent.record.pending = recorded
            intent.record.source = recorded.source
            intent.record.nodes = owned.union(spec.nodes.map(\.name))
            try state.save(intent.record)
            try LabFailPoint.check("lab.state")
            let ledger = LabNetworkLedger(created: intent.record.networks) { [state] created throws(BerthError) in
                intent.record.networks = created
                try state.save(intent.record)
            }
            let actions: [LabAction]
            let made = LabMadeNodes()
            do throws(BerthError) {
                actions = try engine.converge(to: spec, from: record?.applied, startedWith: startedWith, owned: owned, networks: ledger,
                                              known: [record?.pending].compactMap { $0 }, made: made, leftAlone: leftAlone)
            } catch {
                // Going back failed too: the record stays as it is, pending (its nodes and the
                // networks it made named), so `check` reports the lab and gc finishes it.
                if LabEngine.rollbackFailed(error) { throw error.with(operation: .labUp) }
                // `converge` went back to the previous spec; record that. A lab that never
                // came up (its first `up` crashed: pending, nothing applied) went back to
                // nothing, so it goes, as a new lab's does.
                if var old = record, old.applied != nil {
                    old.pending = nil
                    old.networks = ledger.created
                    try? state.save(old)
                } else {
                    do throws(BerthError) {
                        // The nodes it owned and those this up made, not every name of the
                        // file: one someone else made meanwhile is not the lab's.
                        _ = try engine.down(lab: spec.name, nodes: owned.union(made.nodes), networks: ledger.created,
                                            specs: [spec] + [record?.pending].compactMap { $0 })
                        try state.remove(named: spec.name)
                    } catch let cleanup {
                        throw error.undoFailed(cleanup).with(operation: .labUp)
                    }
                }
                throw error.with(operation: .labUp)
            }
            try state.save(LabRecord(name: spec.name, source: recorded.source, applied: recorded, nodes: Set(spec.nodes.map(\.name)),
                                     networks: ledger.created))
            return actions
        }
        return LabUpOutcome(actions: actions, leftAlone: leftAlone.namespaces)
    }

    /// Takes a lab down: its containers, endpoints, namespaces and the networks it created,
    /// every node it recorded or tagged, and its record. Works after a crash half-way
    /// through `up`.
    @discardableResult
    public func down(_ name: String) throws(BerthError) -> LabRemoval {
        try state.locked { () throws(BerthError) -> LabRemoval in
            let record = try state.record(named: name)
            var nodes = record?.nodes ?? []
            for spec in [record?.applied, record?.pending].compactMap({ $0 }) { nodes.formUnion(spec.nodes.map(\.name)) }
            let removal: LabRemoval
            do throws(BerthError) {
                removal = try engine.down(lab: name, nodes: nodes, networks: record?.networks ?? [],
                                          specs: [record?.applied, record?.pending].compactMap { $0 })
            } catch {
                throw error.with(object: .lab(name), operation: .labDown)
            }
            guard record != nil || !removal.isEmpty else {
                throw BerthError(.notFound, "there is no lab named \(name)", object: .lab(name), operation: .labDown, remedy: .listExisting(.lab))
            }
            try state.remove(named: name)
            return removal
        }
    }

    /// The recorded labs.
    public func list() throws(BerthError) -> [LabRecord] {
        try state.records()
    }

    /// The recorded lab brought up from the file at `path`: its absolute path
    /// (`LabFilePath.absolute`) compared with what each record names, or — for a record an
    /// older Berth wrote, which kept the path as typed — `path` as given. Nil when none.
    public func lab(file path: String) throws(BerthError) -> String? {
        let records = try state.records()
        let absolute = LabFilePath.absolute(path)
        return records.first { $0.source == absolute }?.name ?? records.first { $0.source == path }?.name
    }

    /// A recorded lab and its spec (as last applied, else as being applied).
    public func record(_ name: String) throws(BerthError) -> (LabRecord, LabSpec) {
        guard let record = try state.record(named: name) else {
            throw BerthError(.notFound, "there is no lab named \(name)", object: .lab(name), remedy: .listExisting(.lab))
        }
        guard let spec = record.spec else {
            // An unreadable record is one gc refuses too (it points at down): no loop between them.
            throw BerthError(.state, "lab \(name) has no recorded spec", object: .lab(name),
                             remedy: record.unreadable != nil ? .remove(.lab(name)) : .collectGarbage)
        }
        return (record, spec)
    }

    /// What the kernel and the state hold for a lab.
    public func inspect(_ name: String) throws(BerthError) -> (LabSpec, LabObservation) {
        let (record, spec) = try record(name)
        return (spec, try engine.observe(spec, alsoNodes: record.nodes, known: [record.pending].compactMap { $0 }))
    }

    /// Changes the impairment of one interface of a running lab (until the next `up`,
    /// which converges it back to the file), in the node's namespace only when it carries the
    /// node's tag (as `LabExec`). Refused before any change if it breaks a
    /// file's rules (`LabSpec.problem`: jitter without delay, a percentage past 100%, a rate
    /// too slow for tbf to hold its burst) or
    /// needs netem and the kernel has none.
    public func impair(_ name: String, node: String, interface: InterfaceName, _ impairment: Impairment) throws(BerthError) {
        try state.locked { () throws(BerthError) in
            let (_, spec) = try record(name)
            guard spec.node(node) != nil else {
                throw BerthError(.notFound, "lab \(name) has no node \(node)", hint: "its nodes are \(spec.nodes.map(\.name).joined(separator: ", "))",
                                 object: .node(lab: name, node), operation: .labImpair, parameter: "node")
            }
            if let problem = LabSpec.problem(impairment, of: "\(node):\(interface)") {
                throw BerthError(.invalidArgument, problem.message, hint: problem.hint, object: .node(lab: name, node),
                                 operation: .labImpair, parameter: problem.parameter)
            }
            if let netem = impairment.emulation, try !RouteNetlink.kernelSupports(.networkEmulation(netem)) {
                let missing = NetlinkChanges.missingQdiscKind("netem")
                throw BerthError(.unsupported, "\(missing.message); nothing was changed", hint: "load the kernel module sch_netem (CONFIG_NET_SCH_NETEM); rate limits work without it",
                                 object: missing.object, operation: .labImpair)
            }
            let namespace = try NetworkNamespace.open(named: LabNames.namespace(lab: name, node: node))
            // As exec: only the node's own namespace (its `lo` carries the node's tag), never one
            // that is someone else's under that name.
            do throws(BerthError) {
                try LabExec.checkTag(of: namespace, lab: name, node: node, stateTag: engine.stateTag)
            } catch {
                throw BerthError(error.code, error.message, hint: error.hint, object: error.object, operation: .labImpair, parameter: "node")
            }
            let netlink = try RouteNetlink(namespace: namespace)
            let link = try netlink.link(.name(interface))
            guard LabNames.link(fromAlias: link.alias)?.lab == name else {
                throw BerthError(.notFound, "\(node):\(interface) is not a link of lab \(name)", hint: "name one of the lab's link ends",
                                 object: .link(interface.rawValue), operation: .labImpair, parameter: "interface")
            }
            // The burst holds at least one frame of the link as its MTU is now.
            var fitted = impairment
            fitted.rate = impairment.rate?.fitting(mtu: link.mtu)
            // A larger burst needs a faster rate (`TokenBucket.leastRate`).
            if let problem = LabSpec.problem(fitted, of: "\(node):\(interface)") {
                throw BerthError(.invalidArgument, problem.message, hint: problem.hint, object: .node(lab: name, node),
                                 operation: .labImpair, parameter: problem.parameter)
            }
            try netlink.setImpairment(fitted, on: .index(link.index))
        }
    }
}

/// A record that a closure updates as `up` goes (the networks ledger saves it).
final class RecordBox: @unchecked Sendable {
    var record: LabRecord
    init(_ record: LabRecord) { self.record = record }
}
