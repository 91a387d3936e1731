import BerthCore
import Testing

@Suite("InterfaceName")
struct InterfaceNameTests {
    @Test(arguments: [
        "eth0", "lo", "br-0123456789ab", "veth1234567890a", "a", "x.y", "...", ".a", "a..",
        "vlan-10_x", "bé", "名前", "😀😀😀", "a\u{85}", "-", "@", "eth0\u{7f}",
    ])
    func acceptsWhatTheKernelAccepts(name: String) throws {
        let value = try InterfaceName(name)
        #expect(value.rawValue == name)
        #expect(value.description == name)
        #expect(try InterfaceName(value.description) == value)
    }

    @Test func lengthIsCountedInBytes() throws {
        #expect(try InterfaceName(String(repeating: "a", count: 15)).rawValue.utf8.count == 15)
        #expect(throws: BerthError.self) { try InterfaceName(String(repeating: "a", count: 16)) }
        // "é" is two bytes: seven of them and one ASCII byte is 15 bytes but 8 characters.
        #expect(try InterfaceName(String(repeating: "é", count: 7) + "a").rawValue.count == 8)
        #expect(throws: BerthError.self) { try InterfaceName(String(repeating: "é", count: 8)) }
        // Five 3-byte characters are 15 bytes; four 4-byte emoji are 16.
        #expect(throws: Never.self) { try InterfaceName("名前名前名") }
        #expect(throws: BerthError.self) { try InterfaceName("😀😀😀😀") }
    }

    @Test(arguments: [
        ("", "empty"),
        (String(repeating: "x", count: 16), "16 bytes"),
        ("br/0", "'/'"),
        ("eth0:1", "':'"),
        ("eth 0", "whitespace"),
        ("eth\t0", "whitespace"),
        ("eth0\n", "whitespace"),
        ("\u{0B}x", "whitespace"),
        ("\u{0C}x", "whitespace"),
        ("x\r", "whitespace"),
        ("eth\u{0}0", "NUL"),
        (".", "reserved"),
        ("..", "reserved"),
        ("eth%d", "'%'"),
        ("br%", "'%'"),
        ("a%%b", "'%'"),
    ])
    func refusesWhatTheKernelRefuses(name: String, reason: String) {
        do {
            _ = try InterfaceName(name)
            Issue.record("accepted \(name.debugDescription)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(reason), "\(error.message)")
            #expect(error.hint != nil)
        }
    }

    /// The kernel's isspace() is Latin-1: byte 0xA0 (no-break space) is whitespace to it, and
    /// 0xA0 is a UTF-8 continuation byte, so "à" (C3 A0) is refused with EINVAL. Checked with
    /// `ip link add aà type bridge` in a throwaway namespace: "Invalid argument".
    @Test func latin1NoBreakSpaceByteIsWhitespace() {
        #expect(throws: BerthError.self) { try InterfaceName("aà") }
        #expect(throws: BerthError.self) { try InterfaceName("\u{A0}") }
        #expect(throws: Never.self) { try InterfaceName("bé") } // C3 A9
    }

    /// The kernel takes a name with '%' as a pattern (dev_get_valid_name → dev_alloc_name):
    /// `eth%d` becomes the first free `eth0`, `eth1`…, any other '%' is EINVAL. The record
    /// would name a link that never exists, so '%' is refused with its reason.
    @Test func percentIsAKernelPattern() {
        let error = #expect(throws: BerthError.self) { try InterfaceName("eth%d") }
        #expect(error?.message == "interface name \"eth%d\" contains '%', which the kernel takes as a pattern (\"%d\" becomes the first free number, so the link would be called otherwise)")
        #expect(error?.hint == "use 1 to 15 bytes of letters, digits, '-', '_' or '.'")
    }

    /// The kernel compares names as bytes; Swift's String == uses canonical equivalence, which
    /// would make two different links ("é" precomposed and "e" + combining acute) one name.
    @Test func equalityIsByteWise() throws {
        let composed = try InterfaceName("caf\u{E9}")
        let decomposed = try InterfaceName("cafe\u{301}")
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect(composed < decomposed || decomposed < composed)
        #expect(try InterfaceName("caf\u{E9}") == composed)
        // Byte order, as the kernel's strcmp would sort.
        #expect(try InterfaceName("Z") < InterfaceName("a"))
        #expect(try InterfaceName("e\u{301}") < InterfaceName("\u{E9}"))
    }

    @Test func ordersAndHashesByName() throws {
        let names = try ["veth2", "br0", "eth0"].map(InterfaceName.init)
        #expect(names.sorted().map(\.rawValue) == ["br0", "eth0", "veth2"])
        #expect(Set(try ["a", "a", "b"].map(InterfaceName.init)).count == 2)
        #expect(InterfaceName.maxLength == 15)
    }

    @Test func codableAsString() throws {
        let (decoded, json) = try jsonRoundTrip(try InterfaceName("br-berth0"))
        #expect(json == #"{"value":"br-berth0"}"#)
        #expect(decoded == (try InterfaceName("br-berth0")))
        #expect(throws: DecodingError.self) { try jsonDecode(InterfaceName.self, fromValue: #""eth0:1""#) }
        #expect(throws: DecodingError.self) { try jsonDecode(InterfaceName.self, fromValue: #""""#) }
    }
}
