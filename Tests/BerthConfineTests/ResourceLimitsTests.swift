import BerthConfine
import BerthCore
import Testing

@Suite("ResourceLimits: Docker's spellings")
struct ResourceLimitsTests {
    @Test("sizes as docker run --memory takes them", arguments: [
        ("32m", 32 << 20), ("32M", 32 << 20), ("32mb", 32 << 20), ("32MiB", 32 << 20), ("32 m", 32 << 20),
        ("1g", 1 << 30), ("1.5g", 3 << 29), ("0.5k", 512), ("512", 512), ("512b", 512), ("2t", 2 << 40), ("1p", 1 << 50),
        ("6291456", 6_291_456), ("1.25", 1),
    ] as [(String, UInt64)])
    func sizes(_ text: String, _ bytes: UInt64) throws {
        #expect(try ResourceLimits.parseBytes(text, parameter: "memory") == bytes)
    }

    @Test("sizes that do not parse are refused, naming the text",
          arguments: ["", "m", "-1", "32x", "32mm", "1.", ".5g", "1..2", "1.2.3m", "0x20", "1e6", "20000000p", "18446744073709551616"])
    func badSizes(_ text: String) {
        do {
            _ = try ResourceLimits.parseBytes(text, parameter: "memory")
            Issue.record("accepted \"\(text)\"")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("\"\(text)\""))
            #expect(error.parameter == "memory")
        }
    }

    @Test("--cpus in billionths; 0, negative and junk are refused")
    func cpus() throws {
        #expect(try ResourceLimits.parseCPUs("0.5") == 500_000_000)
        #expect(try ResourceLimits.parseCPUs("2") == 2_000_000_000)
        #expect(try ResourceLimits.parseCPUs("1.000000001") == 1_000_000_001)
        #expect(try ResourceLimits.parseCPUs("0.01") == 10_000_000)
        for bad in ["0", "0.0", "-1", "", "one", "1.0000000001", "0.5.1"] {
            #expect(throws: BerthError.self, "\(bad)") { try ResourceLimits.parseCPUs(bad) }
        }
        do {
            _ = try ResourceLimits.parseCPUs("0")
        } catch {
            #expect(error.message.contains("0"))
            #expect(error.parameter == "cpus")
        }
        #expect(ResourceLimits(nanoCPUs: 500_000_000).cfsQuota == 50_000)
        #expect(ResourceLimits(nanoCPUs: 1_500_000_000).cfsQuota == 150_000)
        #expect(ResourceLimits.formatCPUs(500_000_000) == "0.5")
        #expect(ResourceLimits.formatCPUs(2_000_000_000) == "2")
        #expect(ResourceLimits.formatCPUs(10_000_000) == "0.01")
    }

    @Test("--cpu-shares, --pids-limit and --memory-swap")
    func others() throws {
        #expect(try ResourceLimits.parseCPUShares("512") == 512)
        for bad in ["0", "1", "262145", "-2", "x"] { #expect(throws: BerthError.self) { try ResourceLimits.parseCPUShares(bad) } }
        #expect(try ResourceLimits.parsePidsLimit("20") == 20)
        #expect(try ResourceLimits.parsePidsLimit("-1") == nil)
        #expect(try ResourceLimits.parsePidsLimit("0") == nil)
        for bad in ["-2", "x", "1.5", ""] { #expect(throws: BerthError.self) { try ResourceLimits.parsePidsLimit(bad) } }
        #expect(try ResourceLimits.parseSwap("-1") == .unlimited)
        #expect(try ResourceLimits.parseSwap("64m") == .total(64 << 20))
    }

    @Test("validate: Docker's 6 MiB floor and the memory/swap rules")
    func validate() throws {
        try ResourceLimits(memory: 6 << 20).validate()
        #expect(throws: BerthError.self) { try ResourceLimits(memory: (6 << 20) - 1).validate() }
        do {
            try ResourceLimits(memory: 4 << 20).validate()
        } catch {
            #expect(error.message.contains("6 MiB") && error.parameter == "memory")
        }
        #expect(throws: BerthError.self) { try ResourceLimits(memorySwap: .total(64 << 20)).validate() }
        #expect(throws: BerthError.self) { try ResourceLimits(memory: 64 << 20, memorySwap: .total(32 << 20)).validate() }
        try ResourceLimits(memory: 64 << 20, memorySwap: .total(64 << 20)).validate()
        try ResourceLimits(memory: 64 << 20, memorySwap: .unlimited).validate()
        #expect(throws: BerthError.self) { try ResourceLimits(nanoCPUs: 9_999_999).validate() }
        #expect(throws: BerthError.self) { try ResourceLimits(pids: 0).validate() }
        #expect(ResourceLimits(memory: 32 << 20).effectiveMemorySwap == .total(64 << 20))
        #expect(ResourceLimits().effectiveMemorySwap == nil)
        #expect(ResourceLimits().isEmpty && !ResourceLimits(pids: 1).isEmpty)
    }
}

@Suite("CPUList")
struct CPUListTests {
    @Test("the kernel's list format, both ways")
    func roundTrip() throws {
        #expect(try CPUList(parsing: "0-3,5").members == [0, 1, 2, 3, 5])
        #expect(try CPUList(parsing: "5,0-3,2").description == "0-3,5")
        #expect(try CPUList(parsing: "0-1\n").description == "0-1")
        #expect(try CPUList(parsing: " 0-1 \n").description == "0-1")
        #expect(try CPUList(parsing: "7").description == "7")
        #expect(try CPUList(parsing: "").isEmpty)
        #expect(try CPUList(parsing: "\n").isEmpty)
        #expect(try CPUList(parsing: "0-2,4-5,9").description == "0-2,4-5,9")
    }

    @Test("malformed lists are refused", arguments: ["a", "1-", "-1", "3-1", "1,,2", "1-2-3", "0-9000", ",", "1 2x", "1 2", "0,1 2", "0 -3"])
    func malformed(_ text: String) {
        #expect(throws: BerthError.self) { try CPUList(parsing: text) }
    }

    @Test("subset and difference")
    func sets() throws {
        let host = try CPUList(parsing: "0-1")
        #expect(try CPUList(parsing: "1").isSubset(of: host))
        #expect(try CPUList(parsing: "0-4").subtracting(host).description == "2-4")
    }
}
