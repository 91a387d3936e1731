import BerthCore
import Testing

@Suite("MACAddress")
struct MACAddressTests {
    @Test(arguments: [
        ("02:42:0a:58:00:02", "02:42:0a:58:00:02"),
        ("02:42:0A:58:00:02", "02:42:0a:58:00:02"),
        ("02-42-0a-58-00-02", "02:42:0a:58:00:02"),
        ("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"),
        ("00:00:00:00:00:00", "00:00:00:00:00:00"),
        ("aA:bB:cC:dD:eE:fF", "aa:bb:cc:dd:ee:ff"),
    ])
    func parses(text: String, canonical: String) throws {
        let mac = try MACAddress(parsing: text)
        #expect(mac.description == canonical)
        #expect(try MACAddress(parsing: canonical) == mac)
        #expect(MACAddress(text) == mac)
    }

    @Test(arguments: [
        "", "02:42:0a:58:00", "02:42:0a:58:00:02:03", "02:42:0a:58:00:2", "2:42:0a:58:00:02",
        "02:42-0a:58:00:02", "02.42.0a.58.00.02", "0242.0a58.0002", "02420a580002", "02:42:0a:58:00:0g",
        "02:42:0a:58:00:02 ", " 02:42:0a:58:00:02", "02::42:0a:58:00:02", "02:42:0a:58:00:-2",
        "002:42:0a:58:00:0", "02:42:0a:58:00:０2",
    ])
    func refusesMalformedText(text: String) {
        #expect(MACAddress(text) == nil)
        #expect(throws: BerthError.self) { try MACAddress(parsing: text) }
    }

    @Test func bytes() {
        let mac = MACAddress(bytes: [0x02, 0x42, 0x0a, 0x58, 0x00, 0x02])
        #expect(mac?.description == "02:42:0a:58:00:02")
        #expect(mac?.bytes == [0x02, 0x42, 0x0a, 0x58, 0x00, 0x02])
        #expect(MACAddress(bytes: [1, 2, 3, 4, 5]) == nil)
        #expect(MACAddress(bytes: [1, 2, 3, 4, 5, 6, 7]) == nil)
        #expect(MACAddress(bytes: [0x00, 0x0f, 0x10, 0xa0, 0xff, 0x09])?.description == "00:0f:10:a0:ff:09")
        // Every byte value in every position prints as two lowercase digits and parses back.
        for value in 0...255 {
            let mac = MACAddress(bytes: [UInt8](repeating: UInt8(value), count: 6))
            let pair = (value < 16 ? "0" : "") + String(value, radix: 16)
            #expect(mac?.description == Array(repeating: pair, count: 6).joined(separator: ":"))
            #expect(mac.flatMap { MACAddress($0.description) } == mac)
        }
    }

    @Test func bits() throws {
        #expect(try MACAddress(parsing: "01:00:5e:00:00:01").isMulticast)
        #expect(try MACAddress(parsing: "ff:ff:ff:ff:ff:ff").isMulticast)
        #expect(try !MACAddress(parsing: "02:42:0a:58:00:02").isMulticast)
        #expect(try MACAddress(parsing: "02:42:0a:58:00:02").isLocallyAdministered)
        #expect(try !MACAddress(parsing: "00:1b:21:0a:58:02").isLocallyAdministered)
        #expect(try MACAddress(parsing: "00:00:00:00:00:00").isZero)
        #expect(try !MACAddress(parsing: "00:00:00:00:00:01").isZero)
    }

    @Test func derivedFromIPv4LikeDocker() {
        let mac = MACAddress(derivedFrom: IPv4Address(172, 17, 0, 2))
        #expect(mac.description == "02:42:ac:11:00:02")
        #expect(mac.isLocallyAdministered && !mac.isMulticast && !mac.isZero)
    }

    @Test func codableAsString() throws {
        let mac = try MACAddress(parsing: "02-42-AC-11-00-02")
        let (decoded, json) = try jsonRoundTrip(mac)
        #expect(json == #"{"value":"02:42:ac:11:00:02"}"#)
        #expect(decoded == mac)
        #expect(throws: DecodingError.self) { try jsonDecode(MACAddress.self, fromValue: #""02:42:ac:11:00""#) }
        #expect(throws: DecodingError.self) { try jsonDecode(MACAddress.self, fromValue: "[2,66,172,17,0,2]") }
    }
}
