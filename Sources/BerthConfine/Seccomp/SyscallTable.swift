/// System call names and numbers of one ABI (generated: see scripts/gen-syscall-tables).
struct SyscallTable: Sendable {
    let numbers: [String: UInt32]

    init(_ numbers: [String: UInt32]) { self.numbers = numbers }

    /// The number of `name`, or nil when the ABI has no such call (`open` on aarch64).
    func number(of name: String) -> UInt32? { numbers[name] }
}
