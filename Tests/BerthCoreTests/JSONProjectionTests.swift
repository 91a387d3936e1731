import BerthCore
import Testing

@Suite("JSONValue(parsingUTF8:keeping:)")
struct JSONProjectionTests {
    static let document = #"""
    {"ociVersion":"1.0.2","process":{"user":{"uid":0},"args":["sh","-c","echo \"hi\" \u00e9"],"env":["PATH=/bin","TERM=xterm"],"cwd":"/"},
     "linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/run/netns/a"}],"maskedPaths":["/proc/kcore"],"resources":{"cpu":{"quota":-1.5e3}}},
     "annotations":{"berth.network":"n"},"mounts":[{"destination":"/proc","options":[]}],"hooks":null,"big":18446744073709551616}
    """#

    static let projection = JSONProjection.members([
        "linux": .members(["namespaces": .all]),
        "annotations": .all,
        "process": .members(["env": .all]),
        "missing": .all,
    ])

    @Test("keeps the named members, whole, in document order, and leaves out the rest")
    func keepsWhatIsNamed() throws {
        let kept = try JSONValue(parsingUTF8: Array(Self.document.utf8), keeping: Self.projection)
        let full = try JSONValue(parsing: Self.document)
        let expected: JSONValue = .object([
            ("process", .object([("env", full["process"]?["env"] ?? .null)])),
            ("linux", .object([("namespaces", full["linux"]?["namespaces"] ?? .null)])),
            ("annotations", full["annotations"] ?? .null),
        ])
        #expect(kept == expected)
        #expect(kept["process"]?["env"] == ["PATH=/bin", "TERM=xterm"])
        #expect(kept["linux"]?["namespaces"]?[1]?["path"] == "/run/netns/a")
    }

    @Test("all keeps the document as the full parse builds it")
    func allIsTheFullParse() throws {
        #expect(try JSONValue(parsingUTF8: Array(Self.document.utf8), keeping: .all) == JSONValue(parsing: Self.document))
    }

    @Test("a named member that is not an object is kept whole, so a reader's type check sees it", arguments: [
        #"{"linux":"x"}"#, #"{"linux":[1,{"a":2}]}"#, #"{"linux":null}"#, #"{"linux":1.5}"#, #"[{"linux":{}}]"#, #""top""#,
    ])
    func nonObjectsAreKeptWhole(text: String) throws {
        #expect(try JSONValue(parsingUTF8: Array(text.utf8), keeping: Self.projection) == JSONValue(parsing: text))
    }

    /// Every malformed value of the full parser's tests, placed where the projection skips it,
    /// is refused with the same message (line, column, byte and problem) as the full parse
    /// gives for the same document.
    @Test("a skipped value is checked as strictly as a kept one: the same error at the same place", arguments: [
        "nul", "trUe", "True", "[1,]", #"{"a":1,}"#, "{'a':1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]",
        "[1,\n  2,\n  ?]", "[\"é\", ?]", #"{"a":1,"a":2}"#, #"{"a":{"b":1},"a":[]}"#, "\"abc", "\"a\nb\"", "\"a\tb\"",
        #""\x""#, #""\é""#, #""\u12""#, #""\u12G4""#, #""\uD83D""#, #""\uD83Dx""#, #""\uD83D\u0041""#, #""\uDE00""#,
        "01", "-", "-a", "+1", "1.", ".5", "1e", "1e+", "1e400", "-1e400", "NaN", "Infinity", "\u{0B}1",
        "[", "{\"a\":", "{", "\"\u{7F}\u{1F}\"",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        String(repeating: #"{"a":"#, count: 600) + "1" + String(repeating: "}", count: 600),
    ])
    func skippedValuesAreChecked(value: String) {
        for text in [#"{"mounts":\#(value)}"#, #"{"process":{"args":[\#(value)]}}"#, #"{"linux":{"seccomp":\#(value),"namespaces":[]}}"#] {
            let bytes = Array(text.utf8)
            let full: String
            do {
                let parsed = try JSONValue(parsingUTF8: bytes)
                Issue.record("the full parse took \(text.debugDescription) as \(parsed)")
                continue
            } catch {
                full = error.message
            }
            do {
                let parsed = try JSONValue(parsingUTF8: bytes, keeping: Self.projection)
                Issue.record("the projected parse took \(text.debugDescription) as \(parsed)")
            } catch {
                #expect(error.message == full, "\(text.debugDescription)")
            }
        }
    }

    @Test("a key repeated among left-out members, or between a kept and a left-out one, is refused", arguments: [
        #"{"mounts":1,"mounts":2}"#, #"{"annotations":{},"annotations":{}}"#, #"{"mounts":1,"annotations":{},"mounts":2}"#,
        #"{"annotations":{},"x":1,"annotations":2}"#,
    ])
    func repeatedKeysAcrossKeptAndLeftOut(text: String) {
        #expect { try JSONValue(parsingUTF8: Array(text.utf8), keeping: Self.projection) } throws: { error in
            (error as? BerthError)?.message.contains("appears twice in one object") == true
        }
    }

    @Test("the repeated-key check of left-out members holds past 32 members, where it hashes", arguments: [31, 32, 33, 100])
    func repeatedKeysInLargeSkippedObjects(count: Int) {
        let members = (0..<count).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let ok = #"{"mounts":{\#(members)}}"#
        #expect(throws: Never.self) { try JSONValue(parsingUTF8: Array(ok.utf8), keeping: Self.projection) }
        let repeated = #"{"mounts":{\#(members),"k0":0}}"#
        #expect(throws: BerthError.self) { try JSONValue(parsingUTF8: Array(repeated.utf8), keeping: Self.projection) }
        let top = (0..<count).map { #""t\#($0)":\#($0)"# }.joined(separator: ",")
        let repeatedTop = #"{\#(top),"annotations":{},"t0":1}"#
        #expect(throws: BerthError.self) { try JSONValue(parsingUTF8: Array(repeatedTop.utf8), keeping: Self.projection) }
    }

    @Test("invalid UTF-8 and trailing text are refused as by the full parse")
    func documentLevelChecks() {
        #expect(throws: BerthError.self) { try JSONValue(parsingUTF8: [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D], keeping: Self.projection) }
        #expect(throws: BerthError.self) { try JSONValue(parsingUTF8: Array(#"{"mounts":1} x"#.utf8), keeping: Self.projection) }
        #expect(throws: BerthError.self) { try JSONValue(parsingUTF8: [], keeping: Self.projection) }
    }
}
