import BerthCore
import Testing

@Suite("PortRange")
struct PortRangeTests {
    @Test(arguments: [
        ("80", UInt16(80), UInt16(80), "80"),
        ("1", 1, 1, "1"),
        ("65535", 65535, 65535, "65535"),
        ("8000-8009", 8000, 8009, "8000-8009"),
        ("8000-8000", 8000, 8000, "8000"),
        ("1-65535", 1, 65535, "1-65535"),
        ("080", 80, 80, "80"),
    ])
    func parses(text: String, start: UInt16, end: UInt16, canonical: String) throws {
        let range = try PortRange(parsing: text)
        #expect(range.start == start && range.end == end)
        #expect(range.description == canonical)
        #expect(try PortRange(parsing: canonical) == range)
        #expect(range.count == Int(end) - Int(start) + 1)
        #expect(range.isSinglePort == (start == end))
    }

    @Test(arguments: [
        ("", "empty"), ("0", "is 0"), ("65536", "over 65535"), ("99999999999999999999", "over 65535"),
        ("http", "not a number"), ("8o", "not a number"), ("-1", "missing a port number"),
        ("8000-", "missing a port number"), ("9000-8000", "reversed"), ("1-2-3", "more than one '-'"),
        (" 80", "not a number"), ("+80", "not a number"), ("0-10", "is 0"), ("٨٠", "not a number"),
    ])
    func refuses(text: String, reason: String) {
        do {
            _ = try PortRange(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(reason), "\(error.message)")
            #expect(error.hint != nil)
        }
        #expect(PortRange(text) == nil)
    }

    @Test func memberwise() throws {
        #expect(try PortRange(10, 20).count == 11)
        #expect(try PortRange(443).ports == 443...443)
        #expect(throws: BerthError.self) { try PortRange(0) }
        #expect(throws: BerthError.self) { try PortRange(0, 5) }
        #expect(throws: BerthError.self) { try PortRange(20, 10) }
        #expect(try PortRange(1, 65535).count == 65535)
    }

    @Test func containsAndOverlaps() throws {
        let range = try PortRange(8000, 8009)
        #expect(range.contains(8000) && range.contains(8009) && !range.contains(7999) && !range.contains(8010))
        #expect(range.overlaps(try PortRange(8009, 9000)))
        #expect(!range.overlaps(try PortRange(8010, 9000)))
        #expect(range.overlaps(try PortRange(8005)))
        #expect(Array(try PortRange(1, 3).ports) == [1, 2, 3])
    }

    @Test func codableAsString() throws {
        let (decoded, json) = try jsonRoundTrip([try PortRange(80), try PortRange(8000, 8009)])
        #expect(json == #"{"value":["80","8000-8009"]}"#)
        #expect(decoded == [try PortRange(80), try PortRange(8000, 8009)])
        #expect(throws: DecodingError.self) { try jsonDecode(PortRange.self, fromValue: #""9-8""#) }
    }
}
