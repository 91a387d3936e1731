@testable import berth_lab_fuzz
import BerthCore
import BerthTestSupport
import Testing

/// Every input of Fuzz/lab-corpus keeps the property scripts/fuzz-lab checks on new ones.
@Suite("lab files: the fuzz corpus replayed")
struct LabFileFuzzCorpusTests {
    @Test("every file of Fuzz/lab-corpus parses, or is refused by an error that names the file first")
    func corpus() throws {
        try FuzzCorpus.replay("Fuzz/lab-corpus") { LabFileFuzzProperty.violation(String(decoding: $0, as: UTF8.self), source: "fuzz.yaml") }
    }

    @Test("the property catches an error that does not name the file first")
    func propertyCanFail() {
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "nodes: missing"), source: "fuzz.yaml") != nil)
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "fuzz.yaml:3:1: nodes: missing"), source: "fuzz.yaml") == nil)
    }
}
