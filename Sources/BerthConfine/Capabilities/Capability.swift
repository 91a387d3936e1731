public import BerthCore

/// One Linux capability (capabilities(7)), by its kernel number.
public struct Capability: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The kernel's number: bit `rawValue` of a capability mask.
    public let rawValue: Int

    public init?(rawValue: Int) {
        guard Self.names.indices.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ rawValue: Int) { self.rawValue = rawValue }

    /// Parses a capability name as Docker takes it: `NET_RAW`, `CAP_NET_RAW` or `net_raw`.
    /// `ALL` is not a capability; `CapabilitySet.adjusted` handles it.
    public init(parsing text: String) throws(BerthError) {
        let upper = text.uppercased()
        let bare = upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
        guard let index = Self.names.firstIndex(of: bare) else {
            throw BerthError.invalid("unknown capability \"\(text)\"",
                                     hint: "use a name from capabilities(7), such as NET_RAW or CAP_SYS_ADMIN, or ALL",
                                     parameter: "capabilities", object: BerthError.Object(.capability, text))
        }
        self.init(index)
    }

    /// The name without its `CAP_` prefix (`NET_ADMIN`); `description` adds it, as Docker's
    /// `inspect` prints capabilities.
    public var name: String { Self.names[rawValue] }

    /// `CAP_` and the name, as capabilities(7) and Docker spell it.
    public var description: String { "CAP_" + name }

    public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }

    /// Names by number, from linux/capability.h (0 … CAP_LAST_CAP of linux 6.x).
    static let names = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
        "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
        "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
        "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
        "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
        "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ]

    /// CAP_CHOWN (0): change file owners and groups.
    public static let chown = Capability(0)
    /// CAP_DAC_OVERRIDE (1): bypass file read, write and execute permission checks.
    public static let dacOverride = Capability(1)
    /// CAP_DAC_READ_SEARCH (2): bypass file read and directory search checks.
    public static let dacReadSearch = Capability(2)
    /// CAP_FOWNER (3): act as a file's owner for permission checks.
    public static let fowner = Capability(3)
    /// CAP_FSETID (4): keep set-user-ID and set-group-ID bits when a file changes.
    public static let fsetid = Capability(4)
    /// CAP_KILL (5): signal any process.
    public static let kill = Capability(5)
    /// CAP_SETGID (6): change group ids.
    public static let setgid = Capability(6)
    /// CAP_SETUID (7): change user ids.
    public static let setuid = Capability(7)
    /// CAP_SETPCAP (8): change capability bounding sets and securebits.
    public static let setpcap = Capability(8)
    /// CAP_NET_BIND_SERVICE (10): bind ports below 1024.
    public static let netBindService = Capability(10)
    /// CAP_NET_ADMIN (12): configure interfaces, addresses, routes and firewalls.
    public static let netAdmin = Capability(12)
    /// CAP_NET_RAW (13): open raw and packet sockets.
    public static let netRaw = Capability(13)
    /// CAP_SYS_MODULE (16): load and unload kernel modules.
    public static let sysModule = Capability(16)
    /// CAP_SYS_RAWIO (17): raw I/O (iopl, /dev/mem).
    public static let sysRawio = Capability(17)
    /// CAP_SYS_CHROOT (18): chroot(2).
    public static let sysChroot = Capability(18)
    /// CAP_SYS_PTRACE (19): trace any process.
    public static let sysPtrace = Capability(19)
    /// CAP_SYS_PACCT (20): process accounting.
    public static let sysPacct = Capability(20)
    /// CAP_SYS_ADMIN (21): mount, namespaces and most other administration.
    public static let sysAdmin = Capability(21)
    /// CAP_SYS_BOOT (22): reboot and kexec.
    public static let sysBoot = Capability(22)
    /// CAP_SYS_NICE (23): raise priorities and set scheduling policies.
    public static let sysNice = Capability(23)
    /// CAP_SYS_RESOURCE (24): exceed resource limits.
    public static let sysResource = Capability(24)
    /// CAP_SYS_TIME (25): set the system clock.
    public static let sysTime = Capability(25)
    /// CAP_SYS_TTY_CONFIG (26): vhangup(2) and privileged terminal ioctls.
    public static let sysTTYConfig = Capability(26)
    /// CAP_MKNOD (27): create device nodes.
    public static let mknod = Capability(27)
    /// CAP_AUDIT_WRITE (29): write to the kernel audit log.
    public static let auditWrite = Capability(29)
    /// CAP_SETFCAP (31): set file capabilities.
    public static let setfcap = Capability(31)
    /// CAP_SYSLOG (34): privileged syslog(2) operations.
    public static let syslog = Capability(34)
    /// CAP_PERFMON (38): performance monitoring.
    public static let perfmon = Capability(38)
    /// CAP_BPF (39): privileged BPF operations.
    public static let bpf = Capability(39)
}
