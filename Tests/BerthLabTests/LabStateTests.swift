import BerthCore
@testable import BerthLab
import BerthLabFile
import BerthNetlink
@testable import BerthNetwork
@testable import BerthRun
import Foundation
import Testing

/// Labs in the shared state store: specs as JSON, records, the schema extension. No kernel.
@Suite("lab state")
struct LabStateTests {
    static let full = """
    name: full
    nodes:
      r1: { sysctls: { net.ipv4.ip_forward: 1 }, network: back }
      h1: { routes: [ "default via 10.0.1.1", "10.9.0.0/16 dev eth0 metric 5" ] }
      web:
        network: lan
        publish: [ "8080:80", "127.0.0.1:5353:53/udp", "9000-9001:90-91" ]
        run: { rootfs: /srv/rootfs, cmd: [ httpd, -f, -p, "80" ], env: { A: "1", EMPTY: ~ }, workdir: /www, privileged: true }
    networks:
      lan: { subnet: 10.0.9.0/24, gateway: 10.0.9.254 }
      back: { internal: true }
    links:
      - endpoints: [ "r1:eth1", "h1:eth0" ]
        addresses: [ [ 10.0.1.1/24, "fd00:1::1/64" ], 10.0.1.2/24 ]
        mtu: 1400
        rate: 40gbit
        netem: { delay: 20ms, jitter: 2ms, loss: 0.5%, duplicate: 1% }
      - endpoints: [ { node: r1, interface: eth2, mac: "02:00:00:00:00:01" }, "web:eth1" ]
    """

    @Test("inspect's impairment carries its text in tc's words, which the text view prints instead of the JSON fields")
    func impairmentText() throws {
        let both = Impairment(rate: TokenBucket(rate: try DataRate(parsing: "1mbit")),
                              emulation: NetworkEmulation(delay: TimeSpan(nanoseconds: 20_000_000), jitter: TimeSpan(nanoseconds: 2_000_000), loss: 0.5))
        #expect(LabObservation.json(both)["text"]?.stringValue == "netem limit 1000 delay 20ms 2ms loss 0.5%, tbf rate 1mbit burst 32768b limit 39018b")
        #expect(LabObservation.json(Impairment(rate: TokenBucket(rate: try DataRate(parsing: "16mbit"))))["text"]?.stringValue
                == "tbf rate 16mbit burst 32768b limit 132768b")
        #expect(LabObservation.json(Impairment()).isNull)
    }

    @Test("a spec reads back from its JSON equal, but for file positions")
    func jsonRoundTrip() throws {
        let spec = try LabFileParser.parse(Self.full, source: "full.yaml")
        let back = try LabSpec(json: JSONValue(parsing: spec.json.render()))
        #expect(back == spec.withoutLocations())
        #expect(back.node("web")?.run?.environment == ["A=1", "EMPTY="])
        #expect(back.node("web")?.publish.map(\.description) == ["8080:80/tcp", "127.0.0.1:5353:53/udp", "9000-9001:90-91/tcp"])
        #expect(back.links[0].endpoints[0].impairment.rate?.rate.bitsPerSecond == 40_000_000_000)
    }
}

/// Records in the shared store, through `LabState`; no kernel.
@Suite("lab records")
struct LabRecordTests {
    private func withState(_ body: (LabState, StateStore) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "berth-lab-state-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try StateStore(directory: directory)
        try body(try LabState(store: store), store)
    }

    @Test("a lab file's path is made absolute: against the working directory, . and .. taken out, symbolic links resolved when the file or its directory exists")
    func absolutePath() throws {
        #expect(LabFilePath.absolute("ex/triangle.yaml", directory: "/home/u") == "/home/u/ex/triangle.yaml")
        #expect(LabFilePath.absolute("../labs/./t.yaml", directory: "/home/u/d") == "/home/u/labs/t.yaml")
        #expect(LabFilePath.absolute("/srv/a/../b.yaml", directory: "/elsewhere") == "/srv/b.yaml")
        let directory = NSTemporaryDirectory() + "berth-lab-path-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: directory + "/real")
        #expect(FileManager.default.createFile(atPath: directory + "/real/t.yaml", contents: Data("name: t\n".utf8)))
        let real = try #require(realpath(directory + "/real", nil).map { pointer in defer { free(pointer) }; return String(cString: pointer) })
        #expect(LabFilePath.absolute(directory + "/link/t.yaml") == real + "/t.yaml")
        // Gone: through its directory, which still exists.
        #expect(LabFilePath.absolute(directory + "/link/gone.yaml") == real + "/gone.yaml")
        #expect(LabFilePath.looksLikeFile("ex/t") && LabFilePath.looksLikeFile("t.yml") && !LabFilePath.looksLikeFile("triangle"))
    }

    @Test("a lab is found by the absolute path of its file, also once the file is gone, and by the path as typed in a record an older Berth wrote")
    func labByFile() throws {
        let directory = NSTemporaryDirectory() + "berth-lab-file-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/ex", withIntermediateDirectories: true)
        let labs = try LabManager(manager: NetworkManager(stateDirectory: directory + "/state"))
        let file = directory + "/ex/triangle.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("name: triangle\n".utf8)))
        try labs.state.save(LabRecord(name: "triangle", source: LabFilePath.absolute(file)))
        try labs.state.save(LabRecord(name: "old", source: "ex/old.yaml"))
        #expect(try labs.list().first { $0.name == "triangle" }?.source.hasPrefix("/") == true)
        #expect(try labs.lab(file: file) == "triangle")
        #expect(try labs.lab(file: directory + "/ex/../ex/./triangle.yaml") == "triangle")
        try FileManager.default.removeItem(atPath: file)
        #expect(try labs.lab(file: file) == "triangle")
        #expect(try labs.lab(file: "ex/old.yaml") == "old")
        #expect(try labs.lab(file: directory + "/ex/none.yaml") == nil)
    }

    @Test("a record saves and reads back whole, its nodes and networks replaced on each save; remove takes every row")
    func roundTrip() throws {
        try withState { state, store in
            let spec = try LabFileParser.parse(LabStateTests.full, source: "full.yaml")
            var record = LabRecord(name: "full", source: "full.yaml", pending: spec, nodes: ["r1", "h1", "web"], networks: ["lan"])
            try state.save(record)
            let read = try #require(try state.record(named: "full"))
            #expect(read.status == .incomplete && read.nodes == ["r1", "h1", "web"] && read.networks == ["lan"])
            #expect(read.pending == spec.withoutLocations() && read.applied == nil)
            record.applied = spec
            record.pending = nil
            record.nodes = ["r1"]
            record.networks = []
            try state.save(record)
            let again = try #require(try state.record(named: "full"))
            #expect(again.status == .up && again.nodes == ["r1"] && again.networks.isEmpty)
            #expect(try state.records().map(\.name) == ["full"])
            try state.remove(named: "full")
            #expect(try state.record(named: "full") == nil)
            let rows = try store.read { tx throws(BerthError) in
                try tx.db().queryFirst("SELECT (SELECT count(*) FROM lab_nodes) + (SELECT count(*) FROM lab_networks)") { row in row.int(0) }
            }
            #expect(rows == 0)
        }
    }

    @Test("BerthLab's tables are versioned on their own in schema_versions")
    func schemaVersion() throws {
        try withState { _, store in
            let version = try store.read { tx throws(BerthError) in try tx.schemaVersion(of: "BerthLab") }
            #expect(version == LabSchema.stateExtension.currentVersion && version == 1)
        }
    }

    @Test("a store with labs and containers holds every target's tables, each owner at its own version")
    func everyTable() throws {
        try withState { _, store in
            // Run nodes are containers: their supervisors prepare BerthRun's tables in the same store.
            try store.prepare(ContainerSchema.stateExtension)
            let tables = try store.read { tx throws(BerthError) in
                try tx.db().query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") { row in row.text(0) }
            }
            #expect(tables == ["container_args", "container_boot", "container_exits", "containers", "endpoints", "instance", "ipv6_prefix", "lab_networks", "lab_nodes", "labs", "networks",
                               "port_mappings", "publication_ports", "publications", "resolver", "schema_versions"])
            let versions = try store.read { tx throws(BerthError) in
                try tx.db().query("SELECT owner || ' ' || version FROM schema_versions ORDER BY owner") { row in row.text(0) }
            }
            #expect(versions == ["BerthLab 1", "BerthRun 8"])
            // BerthNetwork's own tables are versioned by user_version (4: publications, 5: instance, 6: IPv6, 7: names and the resolver, 8: IPv6-only networks, 9: the port tables without an IN-list CHECK, 10: the endpoints' triggers dropped, 11: publications' IPv6, 12: the boot, 13: the networks' phase, 14: address ranges and auxiliary addresses), apart from the owners above.
            let own = try store.read { tx throws(BerthError) in try tx.db().queryFirst("PRAGMA user_version") { row in row.int(0) } }
            #expect(own == StateSchema.migrations.count && own == 14)
        }
    }

    @Test("a recorded spec that is not what BerthLab wrote makes the record unreadable (its nodes still known), never a crash; one that only fails validation reads")
    func corruptSpec() throws {
        try withState { state, store in
            // The last two, written as BerthLab writes a spec: a link of one end, which the
            // engine would index past, and a link end on a node the spec does not declare.
            let eth1 = try InterfaceName("eth1")
            var oneEnd = LabSpec(name: "x", nodes: [NodeSpec(name: "a")])
            oneEnd.links = [LinkSpec(endpoints: [EndpointSpec(node: "a", interface: eth1)])]
            var undeclared = LabSpec(name: "x", nodes: [NodeSpec(name: "a")])
            undeclared.links = [LinkSpec(endpoints: [EndpointSpec(node: "a", interface: eth1), EndpointSpec(node: "zz", interface: eth1)])]
            for text in ["{", "[]", "{\"name\": \"x\"}", "{\"name\":\"x\",\"source\":\"s\",\"nodes\":[{\"name\":\"../etc\"}],\"links\":[],\"networks\":[]}",
                         oneEnd.json.render(), undeclared.json.render()] {
                try store.write { tx throws(BerthError) in
                    _ = try tx.db().execute("INSERT OR REPLACE INTO labs (name, source, applied, pending, updated) VALUES ('x', 's', ?, NULL, 0)", [.text(text)])
                    _ = try tx.db().execute("INSERT OR REPLACE INTO lab_nodes (lab, node) VALUES ('x', 'r1')", [])
                }
                let record = try #require(try state.record(named: "x"), "\(text)")
                #expect(record.status == .unreadable && record.applied == nil && record.unreadable != nil && record.nodes == ["r1"], "\(text): \(record)")
                #expect(try state.records().map(\.name) == ["x"])
            }
            // A spec an older Berth recorded that this one's checks refuse (a loopback address on
            // a link end) is read as it was written, to be taken down.
            var old = LabSpec(name: "y", nodes: [NodeSpec(name: "a"), NodeSpec(name: "b")])
            old.links = [LinkSpec(endpoints: [EndpointSpec(node: "a", interface: try InterfaceName("eth1"), addresses: [try CIDR(parsing: "127.0.0.2/8")]),
                                              EndpointSpec(node: "b", interface: try InterfaceName("eth1"))])]
            try state.save(LabRecord(name: "y", source: "y.yaml", applied: old, nodes: ["a"]))
            #expect(try state.record(named: "y")?.applied?.links.count == 1)
        }
    }

    @Test("the lab lock excludes a second holder until the first lets go, within the timeout")
    func lock() throws {
        try withState { state, store in
            let second = try LabState(store: store, lockTimeout: .milliseconds(50))
            try state.locked { () throws(BerthError) in
                let error = #expect(throws: BerthError.self) { try second.locked { () throws(BerthError) in } }
                #expect(error?.code == .conflict)
            }
            try second.locked { () throws(BerthError) in }
            var st = stat()
            #expect(stat(store.directory + "/" + LabState.lockName, &st) == 0 && st.st_mode & 0o777 == 0o600)
        }
    }
}
