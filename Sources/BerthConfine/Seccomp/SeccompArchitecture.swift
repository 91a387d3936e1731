/// An ABI a seccomp filter tells apart by `seccomp_data.arch` (an AUDIT_ARCH_* value): one
/// machine can run several (an x86_64 kernel also runs i386 programs).
public enum SeccompArchitecture: String, Sendable, Hashable, CaseIterable {
    /// 64-bit x86 (AUDIT_ARCH_X86_64).
    case x86_64
    /// 32-bit x86 programs on an x86_64 kernel (`int 0x80`, Docker's `SCMP_ARCH_X86`).
    case i386
    /// 64-bit Arm (AUDIT_ARCH_AARCH64).
    case aarch64

    /// AUDIT_ARCH_* from linux/audit.h: the ELF machine plus 64-bit and little-endian flags.
    public var auditArch: UInt32 {
        switch self {
        case .x86_64: 0xC000_003E
        case .i386: 0x4000_0003
        case .aarch64: 0xC000_00B7
        }
    }

    /// The architectures a filter for this machine covers, native first: x86_64 with i386
    /// (as Docker's profile maps them), aarch64 alone (its 32-bit ARM ABI is refused).
    public static var native: [SeccompArchitecture] {
        #if arch(x86_64)
        [.x86_64, .i386]
        #elseif arch(arm64)
        [.aarch64]
        #else
        []
        #endif
    }

    var table: SyscallTable {
        switch self {
        case .x86_64: .x86_64
        case .i386: .i386
        case .aarch64: .aarch64
        }
    }
}
