@testable import BerthConfine
import BerthCore
import Testing

/// What the filter answers, named.
enum Verdict: Equatable, CustomStringConvertible {
    case allow, eperm, enosys, kill, other(UInt32)

    init(_ value: UInt32) {
        switch value {
        case SeccompAction.allow.returnValue: self = .allow
        case SeccompAction.errno(1).returnValue: self = .eperm
        case SeccompAction.errno(38).returnValue: self = .enosys
        case SeccompAction.killProcess.returnValue: self = .kill
        default: self = .other(value)
        }
    }

    var description: String {
        switch self {
        case .allow: "allow"
        case .eperm: "EPERM"
        case .enosys: "ENOSYS"
        case .kill: "kill"
        case .other(let value): "0x\(String(value, radix: 16))"
        }
    }
}

/// One call as the kernel would hand it to the filter.
struct Call: CustomStringConvertible, Sendable {
    let arch: SeccompArchitecture
    let name: String
    var args: [UInt64] = []

    var number: UInt32? { arch.table.number(of: name) }
    var description: String { "\(arch.rawValue) \(name)(\(args.map { "0x" + String($0, radix: 16) }.joined(separator: ", ")))" }
}

func verdict(_ program: [BPFInstruction], _ call: Call) throws -> Verdict {
    let number = try #require(call.number, "\(call.name) has no number on \(call.arch)")
    return try verdict(program, arch: call.arch.auditArch, nr: number, args: call.args)
}

func verdict(_ program: [BPFInstruction], arch: UInt32, nr: UInt32, args: [UInt64] = []) throws -> Verdict {
    let machine = try BPFInterpreter(program)
    let data = BPFInterpreter.Data(nr: Int32(bitPattern: nr), arch: arch, args: args + Array(repeating: 0, count: 6 - args.count))
    return Verdict(machine.run(data).value)
}

private let CLONE_NEWNS: UInt64 = 0x0002_0000, CLONE_NEWUSER: UInt64 = 0x1000_0000, CLONE_NEWNET: UInt64 = 0x4000_0000
private let CLONE_NEWPID: UInt64 = 0x2000_0000, CLONE_NEWCGROUP: UInt64 = 0x0200_0000, SIGCHLD: UInt64 = 17
/// What glibc's pthread_create passes: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
private let threadFlags: UInt64 = 0x3D0F00

/// The golden: calls Docker's default profile must allow or refuse, for Docker's default
/// capabilities on x86_64 (with i386) and on aarch64.
private let golden: [(Call, Verdict)] = [
    (Call(arch: .x86_64, name: "read"), .allow),
    (Call(arch: .x86_64, name: "write"), .allow),
    (Call(arch: .x86_64, name: "openat"), .allow),
    (Call(arch: .x86_64, name: "execve"), .allow),
    (Call(arch: .x86_64, name: "exit_group"), .allow),
    (Call(arch: .x86_64, name: "arch_prctl"), .allow),
    (Call(arch: .x86_64, name: "ptrace"), .allow),              // Docker allows it since kernel 4.8
    (Call(arch: .x86_64, name: "chroot"), .allow),              // CAP_SYS_CHROOT is a default capability
    (Call(arch: .x86_64, name: "clone", args: [SIGCHLD]), .allow),
    (Call(arch: .x86_64, name: "clone", args: [threadFlags]), .allow),
    (Call(arch: .x86_64, name: "clone", args: [CLONE_NEWUSER | SIGCHLD]), .eperm),
    (Call(arch: .x86_64, name: "clone", args: [CLONE_NEWNET]), .eperm),
    (Call(arch: .x86_64, name: "clone", args: [CLONE_NEWNS]), .eperm),
    (Call(arch: .x86_64, name: "clone", args: [CLONE_NEWPID]), .eperm),
    (Call(arch: .x86_64, name: "clone", args: [CLONE_NEWCGROUP]), .eperm),
    (Call(arch: .x86_64, name: "clone", args: [(1 << 32) | SIGCHLD]), .allow),          // the kernel ignores the high half
    (Call(arch: .x86_64, name: "clone", args: [(1 << 32) | CLONE_NEWUSER]), .eperm),
    (Call(arch: .x86_64, name: "clone3"), .enosys),             // so the C library falls back to clone
    (Call(arch: .x86_64, name: "unshare", args: [CLONE_NEWUSER]), .eperm),
    (Call(arch: .x86_64, name: "unshare", args: [0]), .eperm),
    (Call(arch: .x86_64, name: "setns"), .eperm),
    (Call(arch: .x86_64, name: "mount"), .eperm),
    (Call(arch: .x86_64, name: "umount2"), .eperm),
    (Call(arch: .x86_64, name: "pivot_root"), .eperm),
    (Call(arch: .x86_64, name: "keyctl"), .eperm),
    (Call(arch: .x86_64, name: "add_key"), .eperm),
    (Call(arch: .x86_64, name: "request_key"), .eperm),
    (Call(arch: .x86_64, name: "bpf"), .eperm),
    (Call(arch: .x86_64, name: "kexec_load"), .eperm),
    (Call(arch: .x86_64, name: "kexec_file_load"), .eperm),
    (Call(arch: .x86_64, name: "open_by_handle_at"), .eperm),
    (Call(arch: .x86_64, name: "perf_event_open"), .eperm),
    (Call(arch: .x86_64, name: "init_module"), .eperm),
    (Call(arch: .x86_64, name: "finit_module"), .eperm),
    (Call(arch: .x86_64, name: "reboot"), .eperm),
    (Call(arch: .x86_64, name: "swapon"), .eperm),
    (Call(arch: .x86_64, name: "settimeofday"), .eperm),
    (Call(arch: .x86_64, name: "kcmp"), .eperm),
    (Call(arch: .x86_64, name: "userfaultfd"), .eperm),
    (Call(arch: .x86_64, name: "io_uring_setup"), .eperm),
    (Call(arch: .x86_64, name: "fsopen"), .eperm),
    (Call(arch: .x86_64, name: "personality", args: [0]), .allow),
    (Call(arch: .x86_64, name: "personality", args: [0x0008]), .allow),
    (Call(arch: .x86_64, name: "personality", args: [0x2_0008]), .allow),
    (Call(arch: .x86_64, name: "personality", args: [0xFFFF_FFFF]), .allow),
    (Call(arch: .x86_64, name: "personality", args: [0x40_0000]), .eperm),              // READ_IMPLIES_EXEC
    (Call(arch: .x86_64, name: "personality", args: [0x1_0000_0000]), .eperm),          // stray high bits: no match
    (Call(arch: .x86_64, name: "socket", args: [2]), .allow),   // AF_INET
    (Call(arch: .x86_64, name: "socket", args: [16]), .allow),  // AF_NETLINK
    (Call(arch: .x86_64, name: "socket", args: [37]), .allow),
    (Call(arch: .x86_64, name: "socket", args: [38]), .eperm),  // AF_ALG
    (Call(arch: .x86_64, name: "socket", args: [39]), .allow),
    (Call(arch: .x86_64, name: "socket", args: [40]), .eperm),  // AF_VSOCK
    (Call(arch: .x86_64, name: "socket", args: [41]), .allow),
    (Call(arch: .x86_64, name: "socket", args: [(1 << 32) | 38]), .eperm),              // the kernel would read 38
    (Call(arch: .x86_64, name: "socket", args: [(1 << 32) | 40]), .eperm),
    (Call(arch: .x86_64, name: "listns"), .enosys),             // newer than the profile
    (Call(arch: .x86_64, name: "mseal"), .allow),               // newer than the host's headers, in the profile
    (Call(arch: .i386, name: "read"), .allow),
    (Call(arch: .i386, name: "socketcall"), .allow),
    (Call(arch: .i386, name: "chown32"), .allow),
    (Call(arch: .i386, name: "modify_ldt"), .allow),
    (Call(arch: .i386, name: "unshare"), .eperm),
    (Call(arch: .i386, name: "mount"), .eperm),
    (Call(arch: .i386, name: "clone", args: [SIGCHLD]), .allow),
    (Call(arch: .i386, name: "clone", args: [CLONE_NEWUSER]), .eperm),
    (Call(arch: .i386, name: "clone3"), .enosys),
    (Call(arch: .i386, name: "socket", args: [40]), .eperm),
]

private let goldenAArch64: [(Call, Verdict)] = [
    (Call(arch: .aarch64, name: "openat"), .allow),
    (Call(arch: .aarch64, name: "execve"), .allow),
    (Call(arch: .aarch64, name: "set_tls"), .eperm),            // no such call on aarch64: the name is for 32-bit ARM
    (Call(arch: .aarch64, name: "unshare"), .eperm),
    (Call(arch: .aarch64, name: "mount"), .eperm),
    (Call(arch: .aarch64, name: "keyctl"), .eperm),
    (Call(arch: .aarch64, name: "clone", args: [SIGCHLD]), .allow),
    (Call(arch: .aarch64, name: "clone", args: [CLONE_NEWUSER]), .eperm),
    (Call(arch: .aarch64, name: "clone3"), .enosys),
    (Call(arch: .aarch64, name: "socket", args: [38]), .eperm),
    (Call(arch: .aarch64, name: "personality", args: [8]), .allow),
]

@Suite("SeccompCompiler: Docker's default profile")
struct SeccompCompilerTests {
    let x86 = try! SeccompCompiler.compile(.docker, capabilities: .docker, architectures: [.x86_64, .i386])
    let arm = try! SeccompCompiler.compile(.docker, capabilities: .docker, architectures: [.aarch64])

    @Test("the golden table of calls, x86_64 and i386")
    func goldenX86() throws {
        for (call, expected) in golden {
            #expect(try verdict(x86, call) == expected, "\(call)")
        }
    }

    /// The calls `berth-init` makes under the container's filter (docs/run.md, "An init as
    /// PID 1"; `strace -f` of the x86_64 build): its exec, its static glibc's start-up and its
    /// loop. Docker's profile must allow them all, with Docker's capabilities and with none
    /// (`-u` users, `--cap-drop ALL`), or `--init` breaks.
    @Test("Docker's profile allows every call berth-init makes, with Docker's capabilities and with none")
    func initCalls() throws {
        let calls = ["execveat", "brk", "mmap", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "readlink",
                     "getrandom", "mprotect", "rt_sigprocmask", "rt_sigtimedwait", "wait4", "kill", "exit_group"]
        for capabilities in [CapabilitySet.docker, .none] {
            let x86 = try SeccompCompiler.compile(.docker, capabilities: capabilities, architectures: [.x86_64])
            let arm = try SeccompCompiler.compile(.docker, capabilities: capabilities, architectures: [.aarch64])
            for name in calls {
                #expect(try verdict(x86, Call(arch: .x86_64, name: name)) == .allow, "x86_64 \(name), capabilities \(capabilities)")
                // aarch64 has neither arch_prctl nor readlink.
                let call = Call(arch: .aarch64, name: name)
                if call.number != nil { #expect(try verdict(arm, call) == .allow, "aarch64 \(name), capabilities \(capabilities)") }
            }
        }
    }

    @Test("the golden table of calls, aarch64")
    func goldenArm() throws {
        for (call, expected) in goldenAArch64 where call.number != nil {
            #expect(try verdict(arm, call) == expected, "\(call)")
        }
        #expect(Call(arch: .aarch64, name: "set_tls").number == nil)
    }

    @Test("the numbers the golden rests on are the kernel's")
    func numbers() {
        #expect(SeccompArchitecture.x86_64.table.number(of: "unshare") == 272)
        #expect(SeccompArchitecture.x86_64.table.number(of: "clone") == 56)
        #expect(SeccompArchitecture.x86_64.table.number(of: "uretprobe") == 335)
        #expect(SeccompArchitecture.x86_64.table.number(of: "listns") == 470)
        #expect(SeccompArchitecture.i386.table.number(of: "unshare") == 310)
        #expect(SeccompArchitecture.i386.table.number(of: "socketcall") == 102)
        #expect(SeccompArchitecture.aarch64.table.number(of: "unshare") == 97)
        #expect(SeccompArchitecture.aarch64.table.number(of: "clone") == 220)
        #expect(SeccompArchitecture.aarch64.table.number(of: "open") == nil)
        // The tables are searched by halves: every entry must be found (sorted as Swift sorts).
        for arch in SeccompArchitecture.allCases {
            let entries = arch.table.entries
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.name < $1.name }, "\(arch) is not sorted")
            for entry in entries { #expect(arch.table.number(of: entry.name) == entry.number) }
        }
    }

    @Test("every allow-listed call is allowed and every call on no list is refused, on each ABI")
    func wholeTables() throws {
        let mentioned = Set(SeccompProfile.docker.rules.flatMap(\.names))
        let allowed = Set(SeccompProfile.dockerAllowed)
        for (program, architectures) in [(x86, [SeccompArchitecture.x86_64, .i386]), (arm, [.aarch64])] {
            for arch in architectures {
                let highest = Set(arch.table.numbers.filter { mentioned.contains($0.key) }.values).max() ?? 0
                for (name, number) in arch.table.numbers {
                    let got = try verdict(program, arch: arch.auditArch, nr: number)
                    if allowed.contains(name) {
                        #expect(got == .allow, "\(arch) \(name)")
                    } else if !mentioned.contains(name) {
                        #expect(got == (number > highest ? .enosys : .eperm), "\(arch) \(name) \(number)")
                    }
                }
            }
        }
    }

    @Test("other ABIs are killed; x32 and unknown numbers get ENOSYS")
    func foreign() throws {
        #expect(try verdict(x86, arch: 0x4000_0028, nr: 0) == .kill)         // 32-bit ARM
        #expect(try verdict(x86, arch: SeccompArchitecture.aarch64.auditArch, nr: 63) == .kill)
        #expect(try verdict(arm, arch: SeccompArchitecture.x86_64.auditArch, nr: 0) == .kill)
        #expect(try verdict(x86, arch: SeccompArchitecture.x86_64.auditArch, nr: 0x4000_0000) == .enosys)  // x32 read
        #expect(try verdict(x86, arch: SeccompArchitecture.x86_64.auditArch, nr: 1000) == .enosys)
        #expect(try verdict(x86, arch: SeccompArchitecture.x86_64.auditArch, nr: UInt32.max) == .enosys)
    }

    @Test("capabilities open their calls, as Docker's includes/excludes say")
    func capabilities() throws {
        let admin = try SeccompCompiler.compile(.docker, capabilities: CapabilitySet.docker.adjusted(adding: ["SYS_ADMIN"], dropping: []),
                                                architectures: [.x86_64])
        for call in ["unshare", "mount", "umount2", "setns", "bpf", "perf_event_open", "clone3", "fsopen"] {
            #expect(try verdict(admin, Call(arch: .x86_64, name: call)) == .allow, "\(call)")
        }
        #expect(try verdict(admin, Call(arch: .x86_64, name: "clone", args: [CLONE_NEWUSER])) == .allow)
        #expect(try verdict(admin, Call(arch: .x86_64, name: "keyctl")) == .eperm)      // on no list at all

        let ptrace = try SeccompCompiler.compile(.docker, capabilities: CapabilitySet([.sysPtrace]), architectures: [.x86_64])
        #expect(try verdict(ptrace, Call(arch: .x86_64, name: "kcmp")) == .allow)
        #expect(try verdict(ptrace, Call(arch: .x86_64, name: "chroot")) == .eperm)    // CAP_SYS_CHROOT not held

        let modules = try SeccompCompiler.compile(.docker, capabilities: CapabilitySet([.sysModule, .dacReadSearch]), architectures: [.x86_64])
        #expect(try verdict(modules, Call(arch: .x86_64, name: "finit_module")) == .allow)
        #expect(try verdict(modules, Call(arch: .x86_64, name: "open_by_handle_at")) == .allow)
    }

    @Test("the programs stay far below the kernel's 4096 instructions, and every call is a short walk")
    func size() throws {
        for caps in [CapabilitySet.docker, .all, .none] {
            let program = try SeccompCompiler.compile(.docker, capabilities: caps, architectures: [.x86_64, .i386])
            #expect(program.count < 1024, "\(program.count) instructions for \(caps)")
            let machine = try BPFInterpreter(program)
            var longest = 0
            for number in UInt32(0)...600 {
                longest = max(longest, machine.run(BPFInterpreter.Data(nr: Int32(number), arch: SeccompArchitecture.x86_64.auditArch)).steps)
            }
            #expect(longest <= 24, "longest walk \(longest)")
        }
        #expect(arm.count < 400)
    }

    @Test("no architecture is refused rather than compiled into a filter that kills every call")
    func noArchitecture() {
        #expect(throws: BerthError.self) { try SeccompCompiler.compile(.docker, capabilities: .docker, architectures: []) }
    }

    @Test("the shared default program is the one compiled for the default capabilities")
    func shared() throws {
        #expect(try Confinement().seccompProgram() == SeccompCompiler.compile(.docker, capabilities: .docker))
        #expect(try Confinement(seccomp: nil).seccompProgram() == nil)
        #expect(try Confinement.privileged.seccompProgram() == nil)
    }
}
