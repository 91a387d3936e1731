import Foundation

/// prctl(2) looked up by name: Swift cannot call the variadic declaration. The arguments
/// travel in the same registers either way on x86_64 and aarch64.
private typealias PrctlCall = @convention(c) (Int32, UInt, UnsafeRawPointer?, UInt, UInt) -> Int32

/// System call numbers the tests refuse around a spawn, as a filter around berth would
/// (Docker's profiles before 20.10 answer EPERM for calls they do not know).
enum SystemCall {
    /// The same number on every ABI (the calls added since Linux 5.1 share one table).
    static let openat2: UInt32 = 437
    static let clone3: UInt32 = 435
    static let mountSetattr: UInt32 = 442
    #if arch(x86_64)
    static let setresuid: UInt32 = 117
    #else
    static let setresuid: UInt32 = 147
    #endif
}

/// Runs `body` on a thread of its own on which each of `calls` answers EPERM (a seccomp
/// filter: load the call number, refuse those, allow the rest), and waits for it; nil when
/// the filter could not be installed. A child cloned on that thread inherits the filter.
/// The thread ends afterwards, and with it the filter.
func onThreadRefusing<T: Sendable>(_ calls: [UInt32], _ body: @escaping @Sendable () -> T) -> T? {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: T?
    let thread = Thread {
        defer { done.signal() }
        guard let symbol = dlsym(nil, "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: PrctlCall.self)
        // struct sock_filter { u16 code; u8 jt, jf; u32 k; }, as (code, jt, jf, k): the
        // number loaded, one comparison a call (equal: jump to the refusal past the
        // allowing return), then allow, then refuse.
        var instructions: [(UInt16, UInt8, UInt8, UInt32)] = [(0x20, 0, 0, 0)] // BPF_LD | BPF_W | BPF_ABS: seccomp_data.nr
        for (i, call) in calls.enumerated() {
            instructions.append((0x15, UInt8(calls.count - i), 0, call)) // BPF_JMP | BPF_JEQ | BPF_K
        }
        instructions.append((0x06, 0, 0, 0x7fff_0000)) // BPF_RET: SECCOMP_RET_ALLOW
        instructions.append((0x06, 0, 0, 0x0005_0000 | UInt32(EPERM))) // BPF_RET: SECCOMP_RET_ERRNO | EPERM
        var filter = [UInt8](repeating: 0, count: 8 * instructions.count)
        for (i, (code, jt, jf, k)) in instructions.enumerated() {
            withUnsafeBytes(of: code.littleEndian) { filter.replaceSubrange(8 * i..<8 * i + 2, with: $0) }
            filter[8 * i + 2] = jt
            filter[8 * i + 3] = jf
            withUnsafeBytes(of: k.littleEndian) { filter.replaceSubrange(8 * i + 4..<8 * i + 8, with: $0) }
        }
        let count = instructions.count
        let installed = filter.withUnsafeBytes { bytes -> Bool in
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the
            // pointer at offset 8 on 64-bit machines.
            var fprog = [UInt64](repeating: 0, count: 2)
            fprog[0] = UInt64(count)
            fprog[1] = UInt64(UInt(bitPattern: bytes.baseAddress))
            // PR_SET_SECCOMP (22), SECCOMP_MODE_FILTER (2); the tests run as root with
            // CAP_SYS_ADMIN, so no PR_SET_NO_NEW_PRIVS is needed (and none is inherited).
            return fprog.withUnsafeBytes { prctl(22, 2, $0.baseAddress, 0, 0) } == 0
        }
        guard installed else { return }
        result = body()
    }
    thread.start()
    done.wait()
    return result
}
