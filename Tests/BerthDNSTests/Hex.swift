@testable import BerthDNS

/// Bytes from hex text with any spacing: `hex("12 34 0100")`.
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map { UInt8($0.value) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    func value(_ d: UInt8) -> UInt8 {
        switch d {
        case 0x30...0x39: d - 0x30
        case 0x61...0x66: d - 0x61 + 10
        case 0x41...0x46: d - 0x41 + 10
        default: preconditionFailure("not a hex digit")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

/// Wire labels for a name, for building test messages by hand: `labels("web", "net")`.
func labels(_ parts: String...) -> [UInt8] {
    parts.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}

/// A 12-byte header with the given id, flags and counts.
func header(id: UInt16 = 0x1234, flags: UInt16 = 0x0100, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
    DNSHeader(id: id, flags: flags, questionCount: qd, answerCount: an, authorityCount: ns, additionalCount: ar).bytes
}

func name(_ text: String) -> DNSName {
    // Test literals are valid names.
    try! DNSName(parsing: text)
}

/// `message` with its header counts set from its sections, as a parsed copy has them.
func counted(_ message: DNSMessage) -> DNSMessage {
    var message = message
    message.header.questionCount = UInt16(message.questions.count)
    message.header.answerCount = UInt16(message.answers.count)
    message.header.authorityCount = UInt16(message.authorities.count)
    message.header.additionalCount = UInt16(message.additionals.count + (message.edns == nil ? 0 : 1))
    return message
}
