import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/cni keeps the property scripts/fuzz checks on new ones.
@Suite("berth-cni input: the fuzz corpus replayed")
struct CNIFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/cni decodes or is refused, and round-trips")
    func corpus() throws {
        let files = try FuzzCorpus.files("Fuzz/corpus/cni")
        try #require(files.count > 0, "Fuzz/corpus/cni is empty")
        for file in files {
            let violation = CNIFuzzProperty.violation(file.bytes)
            #expect(violation == nil, "Fuzz/corpus/cni/\(file.name): \(violation ?? "")")
        }
    }
}
