import BerthCore
import Testing

@Suite("DataRate and TimeSpan")
struct DataRateTests {
    @Test("tc's rate units: bits with decimal and binary prefixes, bps as bytes")
    func rates() throws {
        #expect(try DataRate(parsing: "100mbit").bitsPerSecond == 100_000_000)
        #expect(try DataRate(parsing: "1Gbit").bitsPerSecond == 1_000_000_000)
        #expect(try DataRate(parsing: "512kbit").bytesPerSecond == 64_000)
        #expect(try DataRate(parsing: "1kibit").bitsPerSecond == 1024)
        #expect(try DataRate(parsing: "10mbps").bitsPerSecond == 80_000_000)
        #expect(try DataRate(parsing: "1.5mbit").bitsPerSecond == 1_500_000)
        #expect(try DataRate(parsing: "8000").bitsPerSecond == 8000)
        #expect(DataRate(bitsPerSecond: 100_000_000).description == "100mbit")
        #expect(DataRate(bitsPerSecond: 1_500_000).description == "1500kbit")
        for bad in ["", "mbit", "0mbit", "-1mbit", "10 mbit", "10furlongs", "1e3mbit", "99999999999999999999999tbit"] {
            #expect(throws: BerthError.self, "\(bad)") { try DataRate(parsing: bad) }
        }
    }

    @Test("times need a unit and stay under an hour")
    func times() throws {
        #expect(try TimeSpan(parsing: "20ms").nanoseconds == 20_000_000)
        #expect(try TimeSpan(parsing: "1.5ms").nanoseconds == 1_500_000)
        #expect(try TimeSpan(parsing: "250us").nanoseconds == 250_000)
        #expect(try TimeSpan(parsing: "2s").nanoseconds == 2_000_000_000)
        #expect(try TimeSpan(parsing: "0ms") == .zero)
        #expect(TimeSpan(nanoseconds: 1_500_000).description == "1500us")
        #expect(TimeSpan(nanoseconds: 20_000_000).description == "20ms")
        for bad in ["", "20", "ms", "-1ms", "2h", "3601s", "1e3ms"] {
            #expect(throws: BerthError.self, "\(bad)") { try TimeSpan(parsing: bad) }
        }
    }
}
