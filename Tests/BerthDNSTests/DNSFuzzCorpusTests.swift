import BerthFuzzProperties
import BerthTestSupport
import Testing

/// Every input of Fuzz/corpus/dns keeps the property scripts/fuzz-dns checks on new ones.
@Suite("DNS codec and resolver: the fuzz corpus replayed")
struct DNSFuzzCorpusTests {
    @Test("every file of Fuzz/corpus/dns parses or is refused, round-trips, and frames alike in pieces")
    func corpus() throws {
        let files = try FuzzCorpus.files("Fuzz/corpus/dns")
        try #require(files.count > 0, "Fuzz/corpus/dns is empty")
        for file in files {
            let violation = DNSFuzzProperty.violation(file.bytes)
            #expect(violation == nil, "Fuzz/corpus/dns/\(file.name): \(violation ?? "")")
        }
    }
}
