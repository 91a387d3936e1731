import BerthConfine

/// A classic BPF machine as the kernel runs a seccomp filter, for the tests: it checks a
/// program the way seccomp_check_filter and bpf_check_classic do (known opcodes only,
/// aligned loads inside seccomp_data, forward jumps that land inside, a return at the end),
/// then runs it on one `seccomp_data`.
struct BPFInterpreter {
    struct Data {
        var nr: Int32
        var arch: UInt32
        var instructionPointer: UInt64 = 0
        var args: [UInt64] = [0, 0, 0, 0, 0, 0]

        /// The 32-bit word at byte offset `k`, little-endian as on x86_64 and aarch64.
        func word(at k: UInt32) -> UInt32 {
            switch k {
            case 0: return UInt32(bitPattern: nr)
            case 4: return arch
            case 8: return UInt32(truncatingIfNeeded: instructionPointer)
            case 12: return UInt32(truncatingIfNeeded: instructionPointer >> 32)
            default:
                let index = Int(k - 16) / 8
                return k % 8 == 0 ? UInt32(truncatingIfNeeded: args[index]) : UInt32(truncatingIfNeeded: args[index] >> 32)
            }
        }
    }

    enum Invalid: Error, Equatable {
        case empty, tooLong(Int), opcode(Int), load(Int), jump(Int), noReturnAtEnd
    }

    let program: [BPFInstruction]

    init(_ program: [BPFInstruction]) throws {
        guard !program.isEmpty else { throw Invalid.empty }
        guard program.count <= BPFInstruction.maximumCount else { throw Invalid.tooLong(program.count) }
        for (pc, instruction) in program.enumerated() {
            switch instruction.code {
            case BPFInstruction.ldAbsW:
                guard instruction.k % 4 == 0, instruction.k < 64 else { throw Invalid.load(pc) }
            case BPFInstruction.andK, BPFInstruction.retK:
                break
            case BPFInstruction.ja:
                guard Int(instruction.k) < program.count - pc - 1 else { throw Invalid.jump(pc) }
            case BPFInstruction.jeqK, BPFInstruction.jgtK, BPFInstruction.jgeK:
                guard pc + 1 + Int(max(instruction.jt, instruction.jf)) < program.count else { throw Invalid.jump(pc) }
            default:
                throw Invalid.opcode(pc)
            }
        }
        guard program[program.count - 1].code == BPFInstruction.retK else { throw Invalid.noReturnAtEnd }
        self.program = program
    }

    /// The filter's return value, and how many instructions it ran.
    func run(_ data: Data) -> (value: UInt32, steps: Int) {
        var a: UInt32 = 0
        var pc = 0
        var steps = 0
        while true {
            let instruction = program[pc]
            steps += 1
            pc += 1
            switch instruction.code {
            case BPFInstruction.ldAbsW: a = data.word(at: instruction.k)
            case BPFInstruction.andK: a &= instruction.k
            case BPFInstruction.ja: pc += Int(instruction.k)
            case BPFInstruction.jeqK: pc += Int(a == instruction.k ? instruction.jt : instruction.jf)
            case BPFInstruction.jgtK: pc += Int(a > instruction.k ? instruction.jt : instruction.jf)
            case BPFInstruction.jgeK: pc += Int(a >= instruction.k ? instruction.jt : instruction.jf)
            case BPFInstruction.retK: return (instruction.k, steps)
            default: fatalError("unchecked opcode")
            }
        }
    }
}
