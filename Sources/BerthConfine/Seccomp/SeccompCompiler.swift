public import BerthCore

/// Compiles a `SeccompProfile` for a container's capabilities into a classic BPF program.
///
/// Shape of the program:
///
///     ld [arch]; jeq x86_64 → section x86_64; jeq i386 → section i386; …; ret KILL_PROCESS
///     section: ld [nr]; a binary search over number ranges, each leaf a `ret` or a jump to
///              the argument tests of one call; those tests; ret
///
/// Every call costs a handful of instructions (the search is about log2 of the number of
/// ranges deep) instead of a walk down a list of 400 comparisons.
///
/// How rules combine, per call (as libseccomp builds Docker's profiles): the rules that
/// apply (architecture, capabilities) are taken in order; if one has no conditions its
/// action is the call's; otherwise the call's action is that of the first rule whose
/// conditions all hold, else the profile's default. A number above every number the
/// profile names on that ABI answers ENOSYS instead of the default (runc does the same):
/// a call newer than the profile then looks unimplemented, and the C library falls back to
/// an older one instead of failing with EPERM. An ABI outside the filter kills the process.
public enum SeccompCompiler {
    /// Why a compilation failed; a bug in a profile or in the compiler, never user input.
    public enum Failure: Error, Sendable, Hashable {
        /// A jump names a label that was never placed, or one behind it.
        case unplacedLabel
        /// The program has this many instructions, over BPF_MAXINSNS (4096).
        case tooLong(Int)
        /// A condition names an argument outside 0–5.
        case badArgumentIndex(Int)
    }

    static let enosys: Int32 = 38

    /// The program for `profile` applied to a container holding `capabilities`, covering
    /// `architectures` (the machine's by default).
    public static func compile(_ profile: SeccompProfile, capabilities: CapabilitySet,
                               architectures: [SeccompArchitecture] = SeccompArchitecture.native) throws(BerthError) -> [BPFInstruction] {
        // A filter for no ABI would kill every call.
        guard !architectures.isEmpty else {
            throw BerthError(.unsupported, "Berth's seccomp filter covers x86_64 and aarch64 only",
                             hint: "run the container without a seccomp filter on this machine", parameter: "seccomp")
        }
        do {
            return try build(profile, capabilities: capabilities, architectures: architectures)
        } catch {
            throw BerthError(.internalError, "the seccomp profile does not compile: \(error)")
        }
    }

    private static func build(_ profile: SeccompProfile, capabilities: CapabilitySet,
                              architectures: [SeccompArchitecture]) throws(Failure) -> [BPFInstruction] {
        var asm = BPFAssembler()
        let sections = architectures.map { _ in asm.newLabel() }
        let foreign = asm.newLabel()
        asm.load(SeccompData.arch)
        for (index, architecture) in architectures.enumerated() {
            let next = index + 1 < architectures.count ? asm.newLabel() : foreign
            asm.jump(BPFInstruction.jeqK, architecture.auditArch, whenTrue: sections[index], whenFalse: next)
            if next != foreign { asm.place(next) }
        }
        asm.place(foreign)
        asm.ret(SeccompAction.killProcess.returnValue)
        for (index, architecture) in architectures.enumerated() {
            asm.place(sections[index])
            try section(&asm, profile: profile, capabilities: capabilities, architecture: architecture)
        }
        let program = try asm.assemble()
        guard program.count <= BPFInstruction.maximumCount else { throw .tooLong(program.count) }
        return program
    }

    /// What one call number gets.
    enum Decision: Hashable {
        case action(SeccompAction)
        /// Rules with conditions, tried in order; `fallback` when none holds.
        case conditional([SeccompRule], fallback: SeccompAction)
    }

    /// What each call number gets, indexed by number, up to the highest number the profile
    /// names on this ABI (nil past the end: not named). Arrays, not dictionaries: this runs
    /// at every container start, and hashing dominated it.
    static func decisions(_ profile: SeccompProfile, capabilities: CapabilitySet,
                          architecture: SeccompArchitecture) -> [Decision] {
        let table = architecture.table
        let resolved = profile.rules.map { rule in (rule, rule.names.compactMap { table.number(of: $0) }) }
        let count = Int(resolved.lazy.flatMap(\.1).max().map { $0 + 1 } ?? 0)
        var unconditional = [SeccompAction?](repeating: nil, count: count)
        var conditional = [[SeccompRule]](repeating: [], count: count)
        var named = [Bool](repeating: false, count: count)
        for (rule, numbers) in resolved {
            for number in numbers { named[Int(number)] = true }
            guard rule.applies(to: architecture, capabilities: capabilities) else { continue }
            for number in numbers.map(Int.init) {
                if rule.conditions.isEmpty {
                    if unconditional[number] == nil { unconditional[number] = rule.action }
                } else {
                    conditional[number].append(rule)
                }
            }
        }
        return (0..<count).map { number in
            if let action = unconditional[number] { return .action(action) }
            if !conditional[number].isEmpty { return .conditional(conditional[number], fallback: profile.defaultAction) }
            return .action(profile.defaultAction)
        }
    }

    private static func section(_ asm: inout BPFAssembler, profile: SeccompProfile, capabilities: CapabilitySet,
                                architecture: SeccompArchitecture) throws(Failure) {
        let decisions = decisions(profile, capabilities: capabilities, architecture: architecture)
        // Ranges of numbers with one decision: [start, next start). Numbers the profile does
        // not name get the default; past the highest it names, ENOSYS.
        var ranges: [(start: UInt32, decision: Decision)] = []
        func add(_ start: UInt32, _ decision: Decision) {
            if case .action(let action) = decision, let last = ranges.last, case .action(action) = last.decision { return }
            ranges.append((start, decision))
        }
        for (number, decision) in decisions.enumerated() { add(UInt32(number), decision) }
        add(UInt32(decisions.count), .action(.errno(enosys)))

        var blocks: [(label: BPFAssembler.Label, rules: [SeccompRule], fallback: SeccompAction)] = []
        asm.load(SeccompData.nr)
        try search(&asm, ranges[...], blocks: &blocks)
        for block in blocks {
            asm.place(block.label)
            try argumentTests(&asm, rules: block.rules, fallback: block.fallback)
        }
    }

    /// A binary search: `jge` the middle range's start, each half searched the same way.
    private static func search(_ asm: inout BPFAssembler, _ ranges: ArraySlice<(start: UInt32, decision: Decision)>,
                               blocks: inout [(label: BPFAssembler.Label, rules: [SeccompRule], fallback: SeccompAction)]) throws(Failure) {
        if ranges.count == 1, let only = ranges.first {
            switch only.decision {
            case .action(let action):
                asm.ret(action.returnValue)
            case .conditional(let rules, let fallback):
                let label = asm.newLabel()
                blocks.append((label, rules, fallback))
                asm.jump(to: label)
            }
            return
        }
        let middle = ranges.startIndex + ranges.count / 2
        let low = asm.newLabel(), high = asm.newLabel()
        asm.jump(BPFInstruction.jgeK, ranges[middle].start, whenTrue: high, whenFalse: low)
        asm.place(low)
        try search(&asm, ranges[..<middle], blocks: &blocks)
        asm.place(high)
        try search(&asm, ranges[middle...], blocks: &blocks)
    }

    /// Each rule in turn: its conditions, then its action; after the last, the fallback.
    private static func argumentTests(_ asm: inout BPFAssembler, rules: [SeccompRule], fallback: SeccompAction) throws(Failure) {
        for rule in rules {
            let nextRule = asm.newLabel()
            for condition in rule.conditions {
                let holds = asm.newLabel()
                try test(&asm, condition, holds: holds, fails: nextRule)
                asm.place(holds)
            }
            asm.ret(rule.action.returnValue)
            asm.place(nextRule)
        }
        asm.ret(fallback.returnValue)
    }

    /// Jumps to `holds` or `fails`. A 64-bit test checks the high half first, then the low.
    private static func test(_ asm: inout BPFAssembler, _ condition: SeccompCondition,
                             holds: BPFAssembler.Label, fails: BPFAssembler.Label) throws(Failure) {
        guard (0..<6).contains(condition.index) else { throw .badArgumentIndex(condition.index) }
        let low = SeccompData.argumentLow(condition.index), high = SeccompData.argumentHigh(condition.index)
        func masked(_ mask: UInt64, _ value: UInt64) {
            // A value bit outside the mask can never match.
            guard value & ~mask == 0 else { asm.jump(to: fails); return }
            if mask >> 32 != 0 {
                let next = asm.newLabel()
                asm.load(high)
                if mask >> 32 != 0xFFFF_FFFF { asm.and(UInt32(mask >> 32)) }
                asm.jump(BPFInstruction.jeqK, UInt32(value >> 32), whenTrue: next, whenFalse: fails)
                asm.place(next)
            }
            asm.load(low)
            if UInt32(truncatingIfNeeded: mask) != 0xFFFF_FFFF { asm.and(UInt32(truncatingIfNeeded: mask)) }
            asm.jump(BPFInstruction.jeqK, UInt32(truncatingIfNeeded: value), whenTrue: holds, whenFalse: fails)
        }
        switch condition.test {
        case .equal(let value):
            masked(.max, value)
        case .maskedEqual(let mask, let value):
            masked(mask, value)
        case .equal32(let value):
            asm.load(low)
            asm.jump(BPFInstruction.jeqK, value, whenTrue: holds, whenFalse: fails)
        case .below32(let value):
            asm.load(low)
            asm.jump(BPFInstruction.jgeK, value, whenTrue: fails, whenFalse: holds)
        case .above32(let value):
            asm.load(low)
            asm.jump(BPFInstruction.jgtK, value, whenTrue: holds, whenFalse: fails)
        }
    }
}
