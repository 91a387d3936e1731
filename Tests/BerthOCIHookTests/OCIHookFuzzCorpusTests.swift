import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/oci-hook keeps the property scripts/fuzz-oci-hook checks on new ones.
@Suite("berth-oci-hook input: the fuzz corpus replayed")
struct OCIHookFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/oci-hook keeps the decoders' promises")
    func corpus() throws {
        let files = try FuzzCorpus.files("Fuzz/corpus/oci-hook")
        try #require(files.count > 0, "Fuzz/corpus/oci-hook is empty")
        for file in files {
            let violation = OCIHookFuzzProperty.violation(file.bytes)
            #expect(violation == nil, "Fuzz/corpus/oci-hook/\(file.name): \(violation ?? "")")
        }
    }
}
