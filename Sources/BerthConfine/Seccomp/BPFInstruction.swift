/// One classic BPF instruction, laid out as the kernel's `struct sock_filter` (8 bytes:
/// code, jt, jf, k), so an array of them is the program `seccomp(2)` takes.
public struct BPFInstruction: Sendable, Hashable, CustomStringConvertible {
    /// The opcode (BPF_* class, size, mode and operation bits).
    public var code: UInt16
    /// Instructions to skip when a conditional jump's test holds.
    public var jt: UInt8
    /// Instructions to skip when it does not.
    public var jf: UInt8
    /// The operand: a constant, an offset into `seccomp_data`, or a jump distance.
    public var k: UInt32

    /// An instruction; jump offsets default to 0 (the next instruction).
    public init(code: UInt16, jt: UInt8 = 0, jf: UInt8 = 0, k: UInt32) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }

    // The few opcodes a seccomp filter needs (linux/bpf_common.h).
    /// Loads the 32-bit word at byte offset `k` of `seccomp_data` into A.
    public static let ldAbsW: UInt16 = 0x20   // BPF_LD | BPF_W | BPF_ABS: A = data[k], 32 bits
    /// `A &= k`.
    public static let andK: UInt16 = 0x54     // BPF_ALU | BPF_AND | BPF_K: A &= k
    /// Skips `k` instructions unconditionally.
    public static let ja: UInt16 = 0x05       // BPF_JMP | BPF_JA: skip k
    /// BPF_JMP | BPF_JEQ | BPF_K: jump by `jt` if A == k, else by `jf`.
    public static let jeqK: UInt16 = 0x15     // BPF_JMP | BPF_JEQ | BPF_K
    /// BPF_JMP | BPF_JGT | BPF_K: jump by `jt` if A > k (unsigned), else by `jf`.
    public static let jgtK: UInt16 = 0x25     // BPF_JMP | BPF_JGT | BPF_K (unsigned)
    /// BPF_JMP | BPF_JGE | BPF_K: jump by `jt` if A >= k (unsigned), else by `jf`.
    public static let jgeK: UInt16 = 0x35     // BPF_JMP | BPF_JGE | BPF_K (unsigned)
    /// Returns `k` (a SECCOMP_RET_* value).
    public static let retK: UInt16 = 0x06     // BPF_RET | BPF_K: return k

    /// The kernel's limit on a filter's length (BPF_MAXINSNS).
    public static let maximumCount = 4096

    public var description: String {
        switch code {
        case Self.ldAbsW: "ld [\(k)]"
        case Self.andK: "and #0x\(String(k, radix: 16))"
        case Self.ja: "ja +\(k)"
        case Self.jeqK: "jeq #0x\(String(k, radix: 16)) jt +\(jt) jf +\(jf)"
        case Self.jgtK: "jgt #0x\(String(k, radix: 16)) jt +\(jt) jf +\(jf)"
        case Self.jgeK: "jge #0x\(String(k, radix: 16)) jt +\(jt) jf +\(jf)"
        case Self.retK: "ret #0x\(String(k, radix: 16))"
        default: "code 0x\(String(code, radix: 16)) jt \(jt) jf \(jf) k 0x\(String(k, radix: 16))"
        }
    }
}

/// Offsets into `struct seccomp_data` (linux/seccomp.h): what a filter can load.
enum SeccompData {
    static let nr: UInt32 = 0
    static let arch: UInt32 = 4
    /// Argument `index`, low half (both architectures are little-endian).
    static func argumentLow(_ index: Int) -> UInt32 { 16 + 8 * UInt32(index) }
    static func argumentHigh(_ index: Int) -> UInt32 { 16 + 8 * UInt32(index) + 4 }
}
