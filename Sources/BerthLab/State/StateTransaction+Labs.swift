import BerthCore
import BerthNetwork

/// Lab rows, in BerthLab's own tables (see `LabSchema`). Call them through a store that
/// `LabState` prepared.
extension StateTransaction {
    /// The lab named `name`, or nil.
    func lab(named name: String) throws(BerthError) -> LabRecord? {
        let db = try db()
        guard let row = try db.queryFirst("SELECT name, source, applied, pending FROM labs WHERE name = ?", [.text(name)], { row in
            (name: row.text(0), source: row.text(1), applied: row.isNull(2) ? nil : row.text(2), pending: row.isNull(3) ? nil : row.text(3))
        }) else { return nil }
        let nodes = try db.query("SELECT node FROM lab_nodes WHERE lab = ?", [.text(name)]) { row in row.text(0) }
        let networks = try db.query("SELECT network FROM lab_networks WHERE lab = ?", [.text(name)]) { row in row.text(0) }
        var record = LabRecord(name: row.name, source: row.source, nodes: Set(nodes), networks: Set(networks))
        do throws(BerthError) {
            record.applied = try Self.spec(row.applied, lab: name)
            record.pending = try Self.spec(row.pending, lab: name)
        } catch {
            // One damaged row must not hide the others, nor keep this lab from going down.
            record.applied = nil
            record.pending = nil
            record.unreadable = error.description
        }
        return record
    }

    /// Every lab, by name.
    func labs() throws(BerthError) -> [LabRecord] {
        var records: [LabRecord] = []
        for name in try db().query("SELECT name FROM labs ORDER BY name", [], { row in row.text(0) }) {
            if let record = try lab(named: name) { records.append(record) }
        }
        return records
    }

    /// Writes a lab's row and replaces its node and network rows.
    func save(_ record: LabRecord) throws(BerthError) {
        let db = try db()
        try db.execute("""
            INSERT INTO labs (name, source, applied, pending, updated) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET source = excluded.source, applied = excluded.applied,
                pending = excluded.pending, updated = excluded.updated
            """, [.text(record.name), .text(record.source), Self.text(record.applied), Self.text(record.pending), .integer(StateClock.now())])
        try db.execute("DELETE FROM lab_nodes WHERE lab = ?", [.text(record.name)])
        for node in record.nodes.sorted() {
            try db.execute("INSERT INTO lab_nodes (lab, node) VALUES (?, ?)", [.text(record.name), .text(node)])
        }
        try db.execute("DELETE FROM lab_networks WHERE lab = ?", [.text(record.name)])
        for network in record.networks.sorted() {
            try db.execute("INSERT INTO lab_networks (lab, network) VALUES (?, ?)", [.text(record.name), .text(network)])
        }
    }

    /// Removes a lab's rows; returns whether there were any.
    @discardableResult
    func deleteLab(named name: String) throws(BerthError) -> Bool {
        try db().execute("DELETE FROM labs WHERE name = ?", [.text(name)]) == 1
    }

    private static func text(_ spec: LabSpec?) -> SQLValue {
        spec.map { .text($0.json.render()) } ?? .null
    }

    private static func spec(_ text: String?, lab: String) throws(BerthError) -> LabSpec? {
        guard let text else { return nil }
        do {
            // Not validated: a spec recorded by an older Berth that a newer one refuses is still
            // the lab's, to converge from and take down.
            return try LabSpec(json: JSONValue(parsing: text), validating: false)
        } catch where error.code == .state {
            throw error.with(object: .lab(lab))
        } catch {
            throw BerthError(.state, "the recorded spec of lab \(lab) is not readable JSON", object: .lab(lab), remedy: .collectGarbage, cause: error)
        }
    }
}
