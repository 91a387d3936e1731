import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/cni keeps the property scripts/fuzz checks on new ones.
@Suite("berth-cni input: the fuzz corpus replayed")
struct CNIFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/cni decodes or is refused, and round-trips")
    func corpus() throws {
        try FuzzCorpus.replay("Fuzz/corpus/cni") { CNIFuzzProperty.violation($0) }
    }
}
