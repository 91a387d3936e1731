/// Builds a classic BPF program from instructions and jumps to labels, and resolves the
/// jumps into offsets.
///
/// A conditional jump's offsets are 8 bits: it can skip at most 255 instructions. A jump
/// that must go further is sent to a `ja` (32-bit offset) placed right after it. That is safe
/// because every conditional jump here names both of its targets: none falls through into
/// what is inserted after it.
struct BPFAssembler {
    typealias Label = Int

    private enum Item {
        case instruction(BPFInstruction)
        case label(Label)
        case jump(code: UInt16, k: UInt32, whenTrue: Label, whenFalse: Label)
        case always(Label)
    }

    private var items: [Item] = []
    private var labelCount = 0

    mutating func newLabel() -> Label {
        labelCount += 1
        return labelCount - 1
    }

    mutating func place(_ label: Label) { items.append(.label(label)) }

    mutating func load(_ offset: UInt32) { items.append(.instruction(BPFInstruction(code: BPFInstruction.ldAbsW, k: offset))) }

    mutating func and(_ mask: UInt32) { items.append(.instruction(BPFInstruction(code: BPFInstruction.andK, k: mask))) }

    mutating func ret(_ value: UInt32) { items.append(.instruction(BPFInstruction(code: BPFInstruction.retK, k: value))) }

    /// `if A <op> k goto whenTrue else goto whenFalse`, op one of jeqK, jgtK, jgeK.
    mutating func jump(_ code: UInt16, _ k: UInt32, whenTrue: Label, whenFalse: Label) {
        items.append(.jump(code: code, k: k, whenTrue: whenTrue, whenFalse: whenFalse))
    }

    mutating func jump(to label: Label) { items.append(.always(label)) }

    /// The program with every label resolved. Throws if a label was never placed.
    func assemble() throws(SeccompCompiler.Failure) -> [BPFInstruction] {
        var items = self.items
        var labels = labelCount
        while true {
            let positions = Self.positions(items, labelCount: labels)
            var fixed = false
            var index = 0
            var position = 0
            while index < items.count {
                if case .jump(let code, let k, let whenTrue, let whenFalse) = items[index] {
                    guard let t = positions[whenTrue], let f = positions[whenFalse] else { throw .unplacedLabel }
                    let farTrue = t - position - 1 > 255, farFalse = f - position - 1 > 255
                    if farTrue || farFalse {
                        // Trampolines right after the jump, each a `ja` to the far target.
                        var newTrue = whenTrue, newFalse = whenFalse
                        var inserted: [Item] = []
                        if farTrue { newTrue = labels; labels += 1; inserted += [.label(newTrue), .always(whenTrue)] }
                        if farFalse { newFalse = labels; labels += 1; inserted += [.label(newFalse), .always(whenFalse)] }
                        items[index] = .jump(code: code, k: k, whenTrue: newTrue, whenFalse: newFalse)
                        items.insert(contentsOf: inserted, at: index + 1)
                        fixed = true
                        break
                    }
                }
                if case .label = items[index] {} else { position += 1 }
                index += 1
            }
            if !fixed { return try Self.emit(items, positions: positions) }
        }
    }

    /// Where each label is (labels are numbered densely from 0); nil for one never placed.
    private static func positions(_ items: [Item], labelCount: Int) -> [Int?] {
        var result = [Int?](repeating: nil, count: labelCount)
        var position = 0
        for item in items {
            if case .label(let label) = item { result[label] = position } else { position += 1 }
        }
        return result
    }

    private static func emit(_ items: [Item], positions: [Int?]) throws(SeccompCompiler.Failure) -> [BPFInstruction] {
        var program: [BPFInstruction] = []
        for item in items {
            let here = program.count
            switch item {
            case .instruction(let instruction):
                program.append(instruction)
            case .label:
                continue
            case .jump(let code, let k, let whenTrue, let whenFalse):
                guard let t = positions[whenTrue], let f = positions[whenFalse], t > here, f > here else { throw .unplacedLabel }
                program.append(BPFInstruction(code: code, jt: UInt8(t - here - 1), jf: UInt8(f - here - 1), k: k))
            case .always(let label):
                guard let target = positions[label], target > here else { throw .unplacedLabel }
                program.append(BPFInstruction(code: BPFInstruction.ja, k: UInt32(target - here - 1)))
            }
        }
        return program
    }
}
