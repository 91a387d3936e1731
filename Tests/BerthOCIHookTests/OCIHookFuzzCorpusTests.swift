import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/oci-hook keeps the property scripts/fuzz-oci-hook checks on new ones.
@Suite("berth-oci-hook input: the fuzz corpus replayed")
struct OCIHookFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/oci-hook keeps the decoders' promises")
    func corpus() throws {
        try FuzzCorpus.replay("Fuzz/corpus/oci-hook") { OCIHookFuzzProperty.violation($0) }
    }
}
