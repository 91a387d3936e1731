import BerthCore
import Foundation
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    static let sample: JSONValue = [
        "name": "web",
        "id": 42,
        "ratio": 0.5,
        "ipv6": false,
        "gateway": nil,
        "ports": ["8080:80/tcp", "[::1]:53:53/udp"],
        "empty": [:],
        "none": [],
        "nested": ["a": [1, [2, []]], "b": ["c": true]],
    ]

    @Test func compactGolden() {
        #expect(Self.sample.render() == #"{"name":"web","id":42,"ratio":0.5,"ipv6":false,"gateway":null,"ports":["8080:80/tcp","[::1]:53:53/udp"],"empty":{},"none":[],"nested":{"a":[1,[2,[]]],"b":{"c":true}}}"#)
        #expect(Self.sample.description == Self.sample.render(pretty: false))
    }

    /// Byte for byte what `jq .` prints for the same document (checked with jq 1.6).
    @Test func prettyGoldenLikeJq() {
        let expected = """
        {
          "name": "web",
          "id": 42,
          "ratio": 0.5,
          "ipv6": false,
          "gateway": null,
          "ports": [
            "8080:80/tcp",
            "[::1]:53:53/udp"
          ],
          "empty": {},
          "none": [],
          "nested": {
            "a": [
              1,
              [
                2,
                []
              ]
            ],
            "b": {
              "c": true
            }
          }
        }
        """
        #expect(Self.sample.render(pretty: true) == expected)
    }

    @Test func scalarsRender() {
        #expect(JSONValue.null.render() == "null")
        #expect(JSONValue.bool(true).render(pretty: true) == "true")
        #expect(JSONValue.integer(-9_223_372_036_854_775_808).render() == "-9223372036854775808")
        #expect(JSONValue.integer(9_223_372_036_854_775_807).render() == "9223372036854775807")
        #expect(JSONValue.number(1.5).render() == "1.5")
        #expect(JSONValue.number(100).render() == "100.0")
        #expect(JSONValue.number(1e300).render() == "1e+300")
        #expect(JSONValue.number(-2.5e-8).render() == "-2.5e-08")
        #expect(JSONValue.number(.infinity).render() == "null")
        #expect(JSONValue.number(.nan).render() == "null")
        #expect(JSONValue.array([]).render(pretty: true) == "[]")
        #expect(JSONValue.object([]).render(pretty: true) == "{}")
    }

    @Test func stringEscaping() throws {
        let text = "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\u{8} ff\u{C} nul\u{0} us\u{1F} del\u{7F} é 名 😀 \u{2028}"
        let rendered = JSONValue.string(text).render()
        #expect(rendered == #""quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f del\u007f é 名 😀 "# + "\u{2028}\"")
        #expect(try JSONValue(parsing: rendered) == .string(text))
        // Foundation reads the same string back: the escaping is standard JSON.
        let decoded = try? JSONSerialization.jsonObject(with: Data("[\(rendered)]".utf8)) as? [String]
        #expect(decoded == [text])
        #expect(JSONValue.object([("k\"ey\n", .null)]).render() == #"{"k\"ey\n":null}"#)
    }

    @Test(arguments: [
        #"null"#, #"true"#, #"false"#, #"0"#, #"-1"#, #"123456789012"#, #"1.5"#, #"-0.25"#, #"1e+300"#,
        #""""#, #""a\"b\\c\n""#, #"[]"#, #"{}"#, #"[1,[2,[3,{}]]]"#, #"{"b":1,"a":2,"c":{"z":[],"y":null}}"#,
        #"["é","名","😀"]"#, #"{"":""}"#,
        #"18446744073709551615"#, #"-9223372036854775809"#, #"[18446744073709551615,-1,-18446744073709551616]"#,
        #"{"hard":123456789012345678901234567890}"#,
    ])
    func compactTextRoundTrips(text: String) throws {
        let value = try JSONValue(parsing: text)
        #expect(value.render() == text)
        #expect(try JSONValue(parsing: value.render(pretty: true)) == value)
    }

    @Test func parsesEveryKind() throws {
        let value = try JSONValue(parsing: """
         \t\r
        {"cniVersion": "1.0.0", "name" : "berth", "plugins":[ {"type":"bridge","mtu":1500,"ipMasq":true,
          "ranges": [[{"subnet": "10.88.0.0/16"}]], "weight": -1.25e2, "dns": null } ] }\n
        """)
        #expect(value["cniVersion"]?.stringValue == "1.0.0")
        #expect(value["name"] == "berth")
        let plugin = try #require(value["plugins"]?[0])
        #expect(plugin["type"]?.stringValue == "bridge")
        #expect(plugin["mtu"] == .integer(1500))
        #expect(plugin["mtu"]?.intValue == 1500)
        #expect(plugin["ipMasq"]?.boolValue == true)
        #expect(plugin["ranges"]?[0]?[0]?["subnet"]?.stringValue == "10.88.0.0/16")
        #expect(plugin["weight"] == .number(-125))
        #expect(plugin["weight"]?.int64Value == -125)
        #expect(plugin["dns"]?.isNull == true)
        #expect(plugin["missing"] == nil)
        #expect(value["plugins"]?[1] == nil)
        #expect(value["plugins"]?[-1] == nil)
        #expect(value.objectValue?.map(\.0) == ["cniVersion", "name", "plugins"])
        #expect(value["plugins"]?.arrayValue?.count == 1)
    }

    @Test func numbers() throws {
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(.max))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(.min))
        #expect(try JSONValue(parsing: "9223372036854775808") == .largeInteger("9223372036854775808"))
        #expect(try JSONValue(parsing: "-9223372036854775809") == .largeInteger("-9223372036854775809"))
        #expect(try JSONValue(parsing: "18446744073709551615").doubleValue == Double(UInt64.max))
        #expect(try JSONValue(parsing: "18446744073709551615").int64Value == nil)
        #expect(try JSONValue(parsing: "1" + String(repeating: "0", count: 400)).doubleValue == nil)
        #expect(try JSONValue(parsing: "-0") == .integer(0))
        #expect(try JSONValue(parsing: "1.0") == .number(1))
        #expect(try JSONValue(parsing: "1E2") == .number(100))
        #expect(try JSONValue(parsing: "1e-2") == .number(0.01))
        #expect(try JSONValue(parsing: "0.1").doubleValue == 0.1)
        #expect(try JSONValue(parsing: "2.5").int64Value == nil)
        #expect(JSONValue.integer(3).doubleValue == 3)
        #expect(JSONValue.number(1e19).int64Value == nil)
        #expect(JSONValue.number(-9.223_372_036_854_775_808e18).int64Value == .min)
        #expect(JSONValue.string("1").int64Value == nil)
        #expect(JSONValue.integer(1) != JSONValue.number(1))
    }

    @Test func escapesAndSurrogates() throws {
        #expect(try JSONValue(parsing: #""\u0041\u00e9\u540D\/\b\f\n\r\t\"\\""#) == .string("Aé名/\u{8}\u{C}\n\r\t\"\\"))
        #expect(try JSONValue(parsing: #""\uD83D\uDE00""#) == .string("😀"))
        #expect(try JSONValue(parsing: #""\ud83d\ude00x""#) == .string("😀x"))
        #expect(try JSONValue(parsing: #""\u0000""#) == .string("\u{0}"))
        #expect(try JSONValue(parsing: #""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
    }

    @Test(arguments: [
        ("", "line 1, column 1 (byte 0): no JSON value"),
        ("   ", "line 1, column 4 (byte 3): no JSON value"),
        ("{} x", "line 1, column 4 (byte 3): unexpected 'x' after the JSON value"),
        ("[1] [2]", "unexpected '[' after the JSON value"),
        ("nul", "line 1, column 4 (byte 3): unexpected end of input, expected 'null'"),
        ("trUe", "line 1, column 3 (byte 2): unexpected 'U', expected 'true'"),
        ("True", "unexpected 'T', expected a value"),
        ("[1,]", "line 1, column 4 (byte 3): unexpected ']', expected a value (trailing commas are not JSON)"),
        (#"{"a":1,}"#, "expected a string key (trailing commas are not JSON)"),
        ("{'a':1}", "unexpected ''', expected a string key"),
        ("{\"a\" 1}", "expected ':' after key \"a\""),
        ("{\"a\":1 \"b\":2}", "expected ',' or '}' in an object"),
        ("[1 2]", "expected ',' or ']' in an array"),
        ("[1,\n  2,\n  ?]", "line 3, column 3 (byte 11): unexpected '?', expected a value"),
        ("[\"é\", ?]", "line 1, column 7 (byte 7): unexpected '?'"),
        (#"{"a":1,"a":2}"#, "line 1, column 8 (byte 7): key \"a\" appears twice in one object"),
        ("\"abc", "line 1, column 1 (byte 0): unterminated string"),
        ("\"a\nb\"", "control character U+000A in a string"),
        ("\"a\tb\"", "control character U+0009 in a string"),
        (#""\x""#, "line 1, column 2 (byte 1): invalid escape: 'x' after '\\'"),
        (#""\é""#, "invalid escape: 'é' after '\\'"),
        (#""\u12""#, "\\u escape needs four hex digits, found '\"'"),
        (#""\u12G4""#, "\\u escape needs four hex digits, found 'G'"),
        (#""\uD83D""#, "lone high surrogate \\ud83d"),
        (#""\uD83Dx""#, "lone high surrogate \\ud83d"),
        (#""\uD83D\u0041""#, "high surrogate \\ud83d followed by \\u0041"),
        (#""\uDE00""#, "lone low surrogate \\ude00"),
        ("01", "line 1, column 1 (byte 0): number with a leading zero"),
        ("-", "'-' without digits"),
        ("-a", "'-' without digits"),
        ("+1", "unexpected '+', expected a value"),
        ("1.", "needs a digit after '.'"),
        (".5", "unexpected '.', expected a value"),
        ("1e", "needs a digit in its exponent"),
        ("1e+", "needs a digit in its exponent"),
        ("1e400", "number 1e400 is out of range"),
        ("NaN", "unexpected 'N', expected a value"),
        ("Infinity", "unexpected 'I', expected a value"),
        ("[1] // c", "unexpected '/' after the JSON value"),
        ("\u{FEFF}{}", "unexpected '\u{FEFF}', expected a value"),
        ("\u{0B}1", "unexpected U+000B, expected a value"),
        ("[", "unexpected end of input, expected a value"),
        ("{\"a\":", "unexpected end of input, expected a value"),
        ("{", "unexpected end of input, expected a string key"),
    ])
    func refusesMalformedInput(text: String, expected: String) {
        do {
            let value = try JSONValue(parsing: text)
            Issue.record("parsed \(text.debugDescription) as \(value)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid JSON at line "), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: JSONValue.maxParsingDepth) + String(repeating: "]", count: JSONValue.maxParsingDepth)
        #expect(throws: Never.self) { try JSONValue(parsing: ok) }
        let deep = String(repeating: "[", count: 100_000)
        #expect { try JSONValue(parsing: deep) } throws: { error in
            (error as? BerthError)?.message.contains("nesting deeper than 512 levels") == true
        }
        let deepObjects = String(repeating: #"{"a":"#, count: 600)
        #expect(throws: BerthError.self) { try JSONValue(parsing: deepObjects) }
    }

    @Test func parsesUTF8Bytes() throws {
        #expect(try JSONValue(parsingUTF8: Array(#"{"é":[1]}"#.utf8)) == ["é": [1]])
        #expect { try JSONValue(parsingUTF8: [0x22, 0xC3, 0x28, 0x22]) } throws: { error in
            (error as? BerthError)?.message.contains("not valid UTF-8") == true
        }
    }

    @Test func equalityAndHashing() {
        let a: JSONValue = ["x": 1, "y": [true, nil]]
        let b = JSONValue.object([("x", .integer(1)), ("y", .array([.bool(true), .null]))])
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(a != ["y": [true, nil], "x": 1] as JSONValue, "key order is part of the value")
        #expect(a != ["x": 1] as JSONValue)
        #expect(JSONValue.string("1") != JSONValue.integer(1))
    }

    @Test func accessorsOnTheWrongKind() {
        let value: JSONValue = "text"
        #expect(value["key"] == nil)
        #expect(value[0] == nil)
        #expect(value.boolValue == nil && value.int64Value == nil && value.doubleValue == nil)
        #expect(value.arrayValue == nil && value.objectValue == nil && !value.isNull)
        #expect(value.stringValue == "text")
        #expect(JSONValue.bool(false).stringValue == nil)
    }

    /// Foundation's parser agrees with ours on a document exercising every kind and escape.
    @Test func agreesWithFoundation() throws {
        let text = Self.sample.render(pretty: true)
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(foundation?["name"] as? String == "web")
        #expect((foundation?["ports"] as? [String])?.last == "[::1]:53:53/udp")
        #expect(foundation?["gateway"] is NSNull)
        #expect(try JSONValue(parsing: text) == Self.sample)
    }

    @Test("a repeated key is refused at any size: compared while an object is small, hashed past 32 members", arguments: [1, 31, 32, 33, 100])
    func repeatedKeysAtEverySize(members: Int) throws {
        let keys = (0..<members).map { "\"k\($0)\":\($0)" }
        let object = try JSONValue(parsing: "{" + keys.joined(separator: ",") + "}")
        #expect(object.objectValue?.count == members)
        for repeated in Set([0, members / 2, members - 1]) {
            let text = "{" + keys.joined(separator: ",") + ",\"k\(repeated)\":0,\"z\":1}"
            #expect(throws: BerthError.self) { try JSONValue(parsing: text) }
            do {
                _ = try JSONValue(parsing: text)
            } catch {
                #expect(error.message.contains("key \"k\(repeated)\" appears twice in one object"))
            }
        }
        // A key repeated after the set took over (both copies past the 32nd member).
        if members > 40 {
            #expect(throws: BerthError.self) { try JSONValue(parsing: "{" + keys.joined(separator: ",") + ",\"n\":1,\"n\":2}") }
        }
    }

    @Test("a string that needs no escape renders as the escaping loop wrote it")
    func plainStringsRenderWhole() {
        #expect(JSONValue.string("bh0").render() == #""bh0""#)
        #expect(JSONValue.string("/run/netns/c1 é ☃").render() == "\"/run/netns/c1 é ☃\"")
        #expect(JSONValue.string("a\"b\\c\u{7F}\u{01}").render() == #""a\"b\\c\u007f\u0001""#)
        #expect(JSONValue.object([("k", .string(""))]).render() == #"{"k":""}"#)
    }
}
