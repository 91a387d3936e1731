/// The 12-byte message header (RFC 1035 §4.1.1).
public struct DNSHeader: Sendable, Hashable {
    /// Header size in bytes.
    public static let size = 12

    public var id: UInt16
    /// The second 16-bit word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and the low 4 bits of RCODE.
    public var flags: UInt16
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0, questionCount: UInt16 = 0, answerCount: UInt16 = 0,
                authorityCount: UInt16 = 0, additionalCount: UInt16 = 0) {
        self.id = id
        self.flags = flags
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    /// Reads the header at the start of `bytes`; nil when there are fewer than 12 bytes.
    public init?(_ bytes: some RandomAccessCollection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        func word(_ k: Int) -> UInt16 {
            let high = bytes.index(bytes.startIndex, offsetBy: 2 * k)
            return UInt16(bytes[high]) << 8 | UInt16(bytes[bytes.index(after: high)])
        }
        self.init(id: word(0), flags: word(1), questionCount: word(2), answerCount: word(3),
                  authorityCount: word(4), additionalCount: word(5))
    }

    /// The 12 wire bytes.
    public var bytes: [UInt8] {
        [id, flags, questionCount, answerCount, authorityCount, additionalCount].flatMap { [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)] }
    }

    private func bit(_ n: Int) -> Bool { flags & (1 << n) != 0 }
    private mutating func set(_ n: Int, _ value: Bool) {
        if value { flags |= 1 << n } else { flags &= ~(1 << n) }
    }

    /// QR: a response, not a query.
    public var isResponse: Bool {
        get { bit(15) }
        set { set(15, newValue) }
    }
    public var opcode: DNSOpcode {
        get { DNSOpcode(rawValue: UInt8(truncatingIfNeeded: flags >> 11)) }
        set { flags = flags & ~0x7800 | UInt16(newValue.rawValue) << 11 }
    }
    /// AA: the answer comes from the authority for the name.
    public var isAuthoritative: Bool {
        get { bit(10) }
        set { set(10, newValue) }
    }
    /// TC: the message was truncated to fit the transport; retry over TCP.
    public var isTruncated: Bool {
        get { bit(9) }
        set { set(9, newValue) }
    }
    /// RD: the client asks for recursion.
    public var recursionDesired: Bool {
        get { bit(8) }
        set { set(8, newValue) }
    }
    /// RA: the server offers recursion.
    public var recursionAvailable: Bool {
        get { bit(7) }
        set { set(7, newValue) }
    }
    /// AD: authentic data (DNSSEC).
    public var authenticData: Bool {
        get { bit(5) }
        set { set(5, newValue) }
    }
    /// CD: checking disabled (DNSSEC).
    public var checkingDisabled: Bool {
        get { bit(4) }
        set { set(4, newValue) }
    }
    /// The low 4 bits of the response code (the OPT record carries the high 8).
    public var responseCodeLow: UInt8 {
        get { UInt8(flags & 0x000F) }
        set { flags = flags & ~0x000F | UInt16(newValue & 0x0F) }
    }
}
