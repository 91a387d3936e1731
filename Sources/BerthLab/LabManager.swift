public import BerthCore
public import BerthNetlink
import BerthNamespace

/// Labs with memory: `up`, `down`, `list`, `inspect`, `impair` and garbage collection over
/// a `LabStateStore`, each under the store's lock.
///
/// `up` records its intent (the nodes it may make) before it touches the kernel, so a crash
/// at any point leaves a record that `down` and `collectGarbage` finish from; the kernel
/// objects also carry tags (`LabNames`) for when the state is gone. Records keep the lab
/// file's text; `parse` turns it back into a spec (the YAML front end lives elsewhere).
public final class LabManager: @unchecked Sendable {
    public let store: any LabStateStore
    public let engine: LabEngine
    private let parse: @Sendable (_ text: String, _ source: String) throws(BerthError) -> LabSpec

    public init(store: any LabStateStore, engine: LabEngine = LabEngine(),
                parse: @escaping @Sendable (_ text: String, _ source: String) throws(BerthError) -> LabSpec) {
        self.store = store
        self.engine = engine
        self.parse = parse
    }

    /// Brings a lab up or converges it to `spec` (parsed from `text`); all or nothing.
    /// With `dryRun`, returns the plan and changes nothing.
    @discardableResult
    public func up(_ spec: LabSpec, text: String, dryRun: Bool = false) throws(BerthError) -> [LabAction] {
        try spec.validate()
        return try store.locked { () throws(BerthError) -> [LabAction] in
            let record = try store.record(named: spec.name)
            let owned = record?.nodes ?? []
            try engine.preflight(spec)
            try engine.refuseForeignNamespaces(spec, owned: owned)
            if dryRun { return try engine.plan(spec, owned: owned) }
            let previous = try record?.appliedText.map { text throws(BerthError) in try parse(text, record?.source ?? spec.source) }
            var intent = record ?? LabRecord(name: spec.name, source: spec.source)
            intent.pendingText = text
            intent.source = spec.source
            intent.nodes = owned.union(spec.nodes.map(\.name))
            try store.save(intent)
            try LabFailPoint.check("lab.state")
            let actions: [LabAction]
            do throws(BerthError) {
                actions = try engine.converge(to: spec, from: previous, owned: owned)
            } catch {
                // `converge` went back to the previous spec; record that.
                if var old = record {
                    old.pendingText = nil
                    try? store.save(old)
                } else {
                    _ = try? engine.down(lab: spec.name, nodes: intent.nodes)
                    try? store.remove(named: spec.name)
                }
                throw error
            }
            try store.save(LabRecord(name: spec.name, source: spec.source, appliedText: text, nodes: Set(spec.nodes.map(\.name))))
            return actions
        }
    }

    /// Takes a lab down: every namespace it recorded or tagged, and its record. Works after
    /// a crash half-way through `up`. Returns the namespaces deleted.
    @discardableResult
    public func down(_ name: String) throws(BerthError) -> [String] {
        try store.locked { () throws(BerthError) -> [String] in
            let record = try store.record(named: name)
            var nodes = record?.nodes ?? []
            for text in [record?.appliedText, record?.pendingText].compactMap({ $0 }) {
                if let spec = try? parse(text, record?.source ?? name) { nodes.formUnion(spec.nodes.map(\.name)) }
            }
            let deleted = try engine.down(lab: name, nodes: nodes)
            guard record != nil || !deleted.isEmpty else {
                throw BerthError(.notFound, "there is no lab named \(name)", remedy: .listExisting(.init(rawValue: "lab")))
            }
            try store.remove(named: name)
            return deleted
        }
    }

    /// The recorded labs.
    public func list() throws(BerthError) -> [LabRecord] {
        try store.locked { () throws(BerthError) -> [LabRecord] in try store.records() }
    }

    /// A recorded lab's spec (as last applied, else as being applied).
    public func spec(_ name: String) throws(BerthError) -> (LabRecord, LabSpec) {
        guard let record = try store.record(named: name) else {
            throw BerthError(.notFound, "there is no lab named \(name)", remedy: .listExisting(.init(rawValue: "lab")))
        }
        guard let text = record.appliedText ?? record.pendingText else {
            throw BerthError(.state, "lab \(name) has no recorded file", remedy: .collectGarbage)
        }
        return (record, try parse(text, record.source))
    }

    /// What the kernel holds for a lab.
    public func inspect(_ name: String) throws(BerthError) -> (LabSpec, LabObservation) {
        try store.locked { () throws(BerthError) -> (LabSpec, LabObservation) in
            let (record, spec) = try spec(name)
            return (spec, try engine.observe(spec, alsoNodes: record.nodes))
        }
    }

    /// Changes the impairment of one interface of a running lab (until the next `up`,
    /// which converges it back to the file). Refused before any change if it needs netem
    /// and the kernel has none.
    public func impair(_ name: String, node: String, interface: InterfaceName, _ impairment: Impairment) throws(BerthError) {
        try store.locked { () throws(BerthError) in
            let (_, spec) = try spec(name)
            guard spec.node(node) != nil else {
                throw BerthError(.notFound, "lab \(name) has no node \(node)", hint: "nodes: \(spec.nodes.map(\.name).joined(separator: ", "))")
            }
            if let netem = impairment.emulation, try !RouteNetlink.kernelSupports(.networkEmulation(netem)) {
                throw BerthError(.unsupported, "this kernel has no netem queueing discipline (sch_netem); nothing was changed",
                                 hint: "load the kernel module sch_netem (CONFIG_NET_SCH_NETEM); rate limits work without it")
            }
            let namespace = try NetworkNamespace.open(named: LabNames.namespace(lab: name, node: node))
            let netlink = try RouteNetlink(namespace: namespace)
            let link = try netlink.link(.name(interface))
            guard LabNames.link(fromAlias: link.alias)?.lab == name else {
                throw BerthError(.notFound, "\(node):\(interface) is not a link of lab \(name)", hint: "name one of the lab's interfaces")
            }
            try netlink.setImpairment(impairment, on: .index(link.index))
        }
    }

    /// What garbage collection removed.
    public struct GarbageReport: Sendable {
        public var namespaces: [String] = []
        public var records: [String] = []
    }

    /// Removes what crashes left: namespaces tagged for labs that have no record, or for
    /// nodes their lab no longer has; labs whose `up` died half-way are taken back to their
    /// last applied file (or down, if they never came up).
    public func collectGarbage() throws(BerthError) -> GarbageReport {
        try store.locked { () throws(BerthError) -> GarbageReport in
            var report = GarbageReport()
            var records: [String: LabRecord] = [:]
            for record in try store.records() { records[record.name] = record }
            for (name, record) in records.sorted(by: { $0.key < $1.key }) where record.pendingText != nil {
                // Holding the lock, no `up` is running: a pending record is a crashed one.
                let applied = try record.appliedText.map { text throws(BerthError) in try parse(text, record.source) }
                if let applied {
                    let keep = Set(applied.nodes.map(\.name))
                    report.namespaces += try engine.down(lab: name, nodes: record.nodes.subtracting(keep), scanTags: false)
                    _ = try? engine.converge(to: applied, from: applied, owned: keep)
                    records[name] = LabRecord(name: name, source: record.source, appliedText: record.appliedText, nodes: keep)
                    try store.save(LabRecord(name: name, source: record.source, appliedText: record.appliedText, nodes: keep))
                } else {
                    report.namespaces += try engine.down(lab: name, nodes: record.nodes)
                    records[name] = nil
                    try store.remove(named: name)
                    report.records.append(name)
                }
            }
            for found in try LabEngine.taggedNamespaces() {
                if let record = records[found.lab], record.nodes.contains(found.node) { continue }
                do throws(BerthError) {
                    try NetworkNamespace.delete(named: found.namespace)
                    report.namespaces.append(found.namespace)
                } catch where error.code == .notFound {}
            }
            return report
        }
    }
}
