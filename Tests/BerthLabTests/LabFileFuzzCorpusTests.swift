@testable import berth_lab_fuzz
import BerthCore
import BerthTestSupport
import Testing

/// Every input of Fuzz/lab-corpus keeps the property scripts/fuzz-lab checks on new ones.
@Suite("lab files: the fuzz corpus replayed")
struct LabFileFuzzCorpusTests {
    @Test("every file of Fuzz/lab-corpus parses, or is refused by an error that names the file first")
    func corpus() throws {
        let files = try FuzzCorpus.files("Fuzz/lab-corpus")
        try #require(files.count > 0, "Fuzz/lab-corpus is empty")
        for file in files {
            let violation = LabFileFuzzProperty.violation(String(decoding: file.bytes, as: UTF8.self), source: "fuzz.yaml")
            #expect(violation == nil, "Fuzz/lab-corpus/\(file.name): \(violation ?? "")")
        }
    }

    @Test("the property catches an error that does not name the file first")
    func propertyCanFail() {
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "nodes: missing"), source: "fuzz.yaml") != nil)
        #expect(LabFileFuzzProperty.violation(BerthError(.invalidArgument, "fuzz.yaml:3:1: nodes: missing"), source: "fuzz.yaml") == nil)
    }
}
