/// One eBPF instruction, laid out as the kernel's `struct bpf_insn` (8 bytes: opcode,
/// destination and source registers in one byte, a 16-bit offset, a 32-bit immediate).
public struct EBPFInstruction: Sendable, Hashable, CustomStringConvertible {
    /// The opcode (class, operation and source bits).
    public var code: UInt8
    /// The destination register, 0–10.
    public var destination: UInt8
    /// The source register, 0–10.
    public var source: UInt8
    /// For a jump: instructions to skip when it is taken; for a load: the byte offset.
    public var offset: Int16
    /// The 32-bit immediate operand.
    public var immediate: Int32

    /// An instruction; unused fields default to 0.
    public init(code: UInt8, destination: UInt8 = 0, source: UInt8 = 0, offset: Int16 = 0, immediate: Int32 = 0) {
        self.code = code
        self.destination = destination
        self.source = source
        self.offset = offset
        self.immediate = immediate
    }

    // The few opcodes a device filter needs (linux/bpf.h, linux/bpf_common.h).
    /// Loads 32 bits from memory: `dst = *(u32 *)(src + off)`.
    public static let loadWord: UInt8 = 0x61     // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
    /// `dst &= imm`, 64-bit.
    public static let andImmediate: UInt8 = 0x57 // BPF_ALU64 | BPF_AND | BPF_K: dst &= imm
    /// `dst >>= imm`, logical, 64-bit.
    public static let shiftRight: UInt8 = 0x77   // BPF_ALU64 | BPF_RSH | BPF_K: dst >>= imm
    /// `dst = src`, 64-bit.
    public static let moveRegister: UInt8 = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X: dst = src
    /// `dst = imm`, 64-bit.
    public static let moveImmediate: UInt8 = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K: dst = imm
    /// Skips `offset` instructions if `dst != imm`.
    public static let jumpIfNotEqual: UInt8 = 0x55 // BPF_JMP | BPF_JNE | BPF_K: if dst != imm, skip off
    /// Ends the program, returning r0.
    public static let exit: UInt8 = 0x95         // BPF_JMP | BPF_EXIT: return r0

    /// The 8 bytes the kernel reads, little-endian as on x86_64 and aarch64.
    public var bytes: [UInt8] {
        let off = UInt16(bitPattern: offset), imm = UInt32(bitPattern: immediate)
        return [code, (source << 4) | (destination & 0x0f), UInt8(off & 0xff), UInt8(off >> 8),
                UInt8(imm & 0xff), UInt8((imm >> 8) & 0xff), UInt8((imm >> 16) & 0xff), UInt8(imm >> 24)]
    }

    public var description: String {
        "code=0x\(String(code, radix: 16)) dst=r\(destination) src=r\(source) off=\(offset) imm=\(immediate)"
    }
}

/// A cgroup v2 device filter: what v1's devices controller does with `devices.allow`, as a
/// `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the container's cgroup (v2 has no
/// files for it). The kernel runs it on every open and mknod of a device node and allows
/// the access only if it returns 1.
///
/// It is compiled from the same allow-list (`DeviceRule.docker`): one block per rule, each
/// test jumping to the next block when it fails, and deny at the end.
///
/// ```
/// r2 = ctx->access_type & 0xffff     // BPF_DEVCG_DEV_BLOCK 1, _CHAR 2
/// r3 = ctx->access_type >> 16        // BPF_DEVCG_ACC_MKNOD 1, _READ 2, _WRITE 4
/// r4 = ctx->major; r5 = ctx->minor
/// per rule: type, access ⊆ rule's, major, minor → return 1
/// return 0
/// ```
public struct DeviceProgram: Sendable, Hashable {
    /// The allow-list the program was compiled from, in order.
    public let rules: [DeviceRule]
    /// The compiled program: one block per rule, then `return 0`.
    public let instructions: [EBPFInstruction]

    /// Compiles `rules` into a program that allows an access any rule allows and denies the rest.
    public init(rules: [DeviceRule]) {
        self.rules = rules
        var program: [EBPFInstruction] = [
            EBPFInstruction(code: EBPFInstruction.loadWord, destination: 2, source: 1, offset: 0),
            EBPFInstruction(code: EBPFInstruction.andImmediate, destination: 2, immediate: 0xffff),
            EBPFInstruction(code: EBPFInstruction.loadWord, destination: 3, source: 1, offset: 0),
            EBPFInstruction(code: EBPFInstruction.shiftRight, destination: 3, immediate: 16),
            EBPFInstruction(code: EBPFInstruction.loadWord, destination: 4, source: 1, offset: 4),
            EBPFInstruction(code: EBPFInstruction.loadWord, destination: 5, source: 1, offset: 8),
        ]
        for rule in rules { program += Self.block(for: rule) }
        program += [EBPFInstruction(code: EBPFInstruction.moveImmediate, destination: 0, immediate: 0),
                    EBPFInstruction(code: EBPFInstruction.exit)]
        instructions = program
    }

    /// The instructions as the kernel takes them.
    public var bytes: [UInt8] { instructions.flatMap(\.bytes) }

    /// One rule's tests: each jumps past the rest of the block (to the next rule) when it fails.
    private static func block(for rule: DeviceRule) -> [EBPFInstruction] {
        // (test, and the immediate it compares with) in order; the block ends `r0 = 1; exit`.
        var tests: [(register: UInt8, value: Int32, masked: Bool)] = []
        switch rule.kind {
        case .block: tests.append((2, 1, false))
        case .char: tests.append((2, 2, false))
        case .all: break
        }
        // Access asked beyond the rule's: r6 = r3 & ~allowed must be 0.
        let allowed = accessBits(rule.access)
        if allowed != 7 { tests.append((6, ~allowed & 7, true)) }
        if let major = rule.major { tests.append((4, Int32(truncatingIfNeeded: major), false)) }
        if let minor = rule.minor { tests.append((5, Int32(truncatingIfNeeded: minor), false)) }
        var body: [EBPFInstruction] = []
        for test in tests {
            if test.masked {
                body.append(EBPFInstruction(code: EBPFInstruction.moveRegister, destination: 6, source: 3))
                body.append(EBPFInstruction(code: EBPFInstruction.andImmediate, destination: 6, immediate: test.value))
                body.append(EBPFInstruction(code: EBPFInstruction.jumpIfNotEqual, destination: 6, immediate: 0))
            } else {
                body.append(EBPFInstruction(code: EBPFInstruction.jumpIfNotEqual, destination: test.register, immediate: test.value))
            }
        }
        body += [EBPFInstruction(code: EBPFInstruction.moveImmediate, destination: 0, immediate: 1),
                 EBPFInstruction(code: EBPFInstruction.exit)]
        // Every jump goes to the first instruction after the block.
        for index in body.indices where body[index].code == EBPFInstruction.jumpIfNotEqual {
            body[index].offset = Int16(body.count - index - 1)
        }
        return body
    }

    /// "rwm" as BPF_DEVCG_ACC_* bits: mknod 1, read 2, write 4.
    static func accessBits(_ access: String) -> Int32 {
        var bits: Int32 = 0
        if access.contains("m") { bits |= 1 }
        if access.contains("r") { bits |= 2 }
        if access.contains("w") { bits |= 4 }
        return bits
    }
}
