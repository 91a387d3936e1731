@testable import berth_lab_fuzz
import BerthCore
import BerthLab
import BerthTestSupport
import Testing

/// Every input of Fuzz/lab-corpus keeps the property scripts/fuzz-lab checks on new ones.
@Suite("lab files: the fuzz corpus replayed")
struct LabFileFuzzCorpusTests {
    @Test("every file of Fuzz/lab-corpus parses into a spec that reads back from its JSON, or is refused by an error that names the file first")
    func corpus() throws {
        try FuzzCorpus.replay("Fuzz/lab-corpus") { LabFileFuzzProperty.violation(String(decoding: $0, as: UTF8.self), source: "fuzz.yaml") }
    }

    @Test("the property catches an accepted spec that does not read back from its JSON")
    func roundTripCanFail() throws {
        // A spec the parser would refuse: its JSON does not validate.
        let bad = LabSpec(name: "x", nodes: [NodeSpec(name: "a"), NodeSpec(name: "a")])
        #expect(LabFileFuzzProperty.violation(roundTrip: bad) != nil)
        let good = LabSpec(name: "x", nodes: [NodeSpec(name: "a", routes: [try LabRoute(parsing: "10.0.3.0/24 dev eth1")])],
                           links: [LinkSpec(endpoints: [EndpointSpec(node: "a", interface: try InterfaceName("eth1")),
                                                        EndpointSpec(node: "a", interface: try InterfaceName("eth2"))])])
        #expect(LabFileFuzzProperty.violation(roundTrip: good) == nil)
    }

    @Test("the property catches an error that does not name the file first")
    func propertyCanFail() {
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "nodes: missing"), source: "fuzz.yaml") != nil)
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "fuzz.yaml:3:1: nodes: missing"), source: "fuzz.yaml") == nil)
    }
}
