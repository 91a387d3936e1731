@testable import BerthConfine
import Testing

@Suite("BPFAssembler")
struct BPFAssemblerTests {
    @Test("jumps to labels resolve to forward offsets")
    func near() throws {
        var asm = BPFAssembler()
        let yes = asm.newLabel(), no = asm.newLabel()
        asm.load(0)
        asm.jump(BPFInstruction.jeqK, 7, whenTrue: yes, whenFalse: no)
        asm.place(no)
        asm.ret(1)
        asm.place(yes)
        asm.ret(2)
        let program = try asm.assemble()
        #expect(program.map(\.description) == ["ld [0]", "jeq #0x7 jt +1 jf +0", "ret #0x1", "ret #0x2"])
    }

    @Test("a conditional jump past 255 instructions goes through a ja", arguments: [true, false])
    func far(trueIsFar: Bool) throws {
        var asm = BPFAssembler()
        let near = asm.newLabel(), far = asm.newLabel()
        asm.load(0)
        asm.jump(BPFInstruction.jgtK, 10, whenTrue: trueIsFar ? far : near, whenFalse: trueIsFar ? near : far)
        asm.place(near)
        for _ in 0..<300 { asm.ret(1) }
        asm.place(far)
        asm.ret(2)
        let program = try asm.assemble()
        let machine = try BPFInterpreter(program)
        #expect(program.count == 304)
        #expect(program[2].code == BPFInstruction.ja && program[2].k == 300)
        let big = machine.run(BPFInterpreter.Data(nr: 11, arch: 0)).value
        let small = machine.run(BPFInterpreter.Data(nr: 3, arch: 0)).value
        #expect((big, small) == (trueIsFar ? (2, 1) : (1, 2)))
    }

    @Test("a label never placed is an error, not a wild jump")
    func unplaced() {
        var asm = BPFAssembler()
        let nowhere = asm.newLabel()
        asm.load(0)
        asm.jump(to: nowhere)
        #expect(throws: SeccompCompiler.Failure.unplacedLabel) { try asm.assemble() }
    }
}
