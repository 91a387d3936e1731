import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/dns keeps the property scripts/fuzz-dns checks on new ones.
@Suite("DNS codec and resolver: the fuzz corpus replayed")
struct DNSFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/dns parses or is refused, round-trips, and frames alike in pieces")
    func corpus() throws {
        try FuzzCorpus.replay("Fuzz/corpus/dns") { DNSFuzzProperty.violation($0) }
    }
}
