import BerthConfine
import Testing

/// The cgroup v2 device filter: its bytes, and what it decides, run by a small eBPF machine
/// that does what the kernel's does for these opcodes (and refuses any other).
@Suite("DeviceProgram (cgroup v2 device filter)")
struct DeviceProgramTests {
    /// BPF_DEVCG_DEV_* and BPF_DEVCG_ACC_*.
    enum Kind: UInt32 { case block = 1, char = 2 }
    static let mknod: UInt32 = 1, read: UInt32 = 2, write: UInt32 = 4

    /// Runs `program` on one `struct bpf_cgroup_dev_ctx`; nil for an opcode the kernel
    /// would not see from us, a jump out of the program, or running off its end.
    static func run(_ program: DeviceProgram, _ kind: Kind, _ access: UInt32, _ major: UInt32, _ minor: UInt32) -> UInt64? {
        let context: [UInt32] = [access << 16 | kind.rawValue, major, minor]
        var registers = [UInt64](repeating: 0, count: 11)
        var pc = 0
        let code = program.instructions
        while pc < code.count {
            let i = code[pc]
            let dst = Int(i.destination), imm = UInt64(bitPattern: Int64(i.immediate))
            switch i.code {
            case EBPFInstruction.loadWord:
                guard i.source == 1, i.offset >= 0, i.offset % 4 == 0, Int(i.offset) / 4 < context.count else { return nil }
                registers[dst] = UInt64(context[Int(i.offset) / 4])
            case EBPFInstruction.andImmediate: registers[dst] &= imm
            case EBPFInstruction.shiftRight: registers[dst] >>= imm
            case EBPFInstruction.moveRegister: registers[dst] = registers[Int(i.source)]
            case EBPFInstruction.moveImmediate: registers[dst] = imm
            case EBPFInstruction.jumpIfNotEqual:
                if registers[dst] != imm {
                    pc += Int(i.offset)
                    guard pc + 1 < code.count else { return nil }
                }
            case EBPFInstruction.exit: return registers[0]
            default: return nil
            }
            pc += 1
        }
        return nil
    }

    let docker = DeviceProgram(rules: DeviceRule.docker)

    @Test("Docker's list: the allowed nodes open for read and write; any node may be made; disks, mem and kmsg may not be opened")
    func dockerDecisions() {
        let rw = Self.read | Self.write
        for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2), (136, 0), (136, 77), (10, 200)] as [(UInt32, UInt32)] {
            #expect(Self.run(docker, .char, rw, major, minor) == 1, "c \(major):\(minor) rw")
            #expect(Self.run(docker, .char, Self.mknod, major, minor) == 1, "c \(major):\(minor) m")
        }
        #expect(Self.run(docker, .block, Self.mknod, 8, 0) == 1, "b 8:0 m: a node may be made")
        #expect(Self.run(docker, .block, Self.read, 8, 0) == 0, "b 8:0 r: a host disk")
        #expect(Self.run(docker, .block, Self.write, 259, 0) == 0, "b 259:0 w: an NVMe disk")
        #expect(Self.run(docker, .char, Self.read, 1, 1) == 0, "c 1:1 r: /dev/mem")
        #expect(Self.run(docker, .char, Self.read, 1, 11) == 0, "c 1:11 r: /dev/kmsg")
        #expect(Self.run(docker, .char, Self.read | Self.mknod, 1, 11) == 0, "asking m with r: r is not allowed")
        #expect(Self.run(docker, .block, Self.read, 1, 3) == 0, "b 1:3 is not c 1:3")
        #expect(Self.run(docker, .char, Self.read, 10, 229) == 0, "c 10:229: /dev/fuse")
    }

    @Test("an empty list denies everything; 'a' allows everything it names")
    func edges() {
        let none = DeviceProgram(rules: [])
        #expect(none.instructions.count == 8)
        #expect(Self.run(none, .char, Self.read, 1, 3) == 0)
        let all = DeviceProgram(rules: [DeviceRule(.all, nil, nil, "rwm")])
        #expect(Self.run(all, .block, Self.read | Self.write | Self.mknod, 8, 0) == 1)
        let readOnly = DeviceProgram(rules: [DeviceRule(.all, 1, nil, "r")])
        #expect(Self.run(readOnly, .char, Self.read, 1, 3) == 1)
        #expect(Self.run(readOnly, .block, Self.read, 1, 3) == 1)
        #expect(Self.run(readOnly, .char, Self.write, 1, 3) == 0)
        #expect(Self.run(readOnly, .char, Self.read, 2, 3) == 0)
    }

    @Test("the bytes of a one-rule program, as struct bpf_insn")
    func golden() {
        let program = DeviceProgram(rules: [DeviceRule(.char, 1, 3, "rw")])
        let hex = stride(from: 0, to: program.bytes.count, by: 8).map { start in
            program.bytes[start..<start + 8].map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        }
        #expect(hex == [
            "6112000000000000", // r2 = *(u32 *)(r1 + 0)     access_type
            "57020000ffff0000", // r2 &= 0xffff               device type
            "6113000000000000", // r3 = *(u32 *)(r1 + 0)
            "7703000010000000", // r3 >>= 16                  access
            "6114040000000000", // r4 = *(u32 *)(r1 + 4)      major
            "6115080000000000", // r5 = *(u32 *)(r1 + 8)      minor
            "5502070002000000", // if r2 != 2 (char) skip 7: to the block after
            "bf36000000000000", // r6 = r3
            "5706000001000000", // r6 &= 1 (mknod: not allowed)
            "5506040000000000", // if r6 != 0 skip 4
            "5504030001000000", // if r4 != 1 skip 3
            "5505020003000000", // if r5 != 3 skip 2
            "b700000001000000", // r0 = 1
            "9500000000000000", // exit
            "b700000000000000", // r0 = 0
            "9500000000000000", // exit
        ])
    }
}
