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

    /// The name without `CAP_`, as Docker prints it in `inspect` with the prefix.
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

    public static let chown = Capability(0)
    public static let dacOverride = Capability(1)
    public static let dacReadSearch = Capability(2)
    public static let fowner = Capability(3)
    public static let fsetid = Capability(4)
    public static let kill = Capability(5)
    public static let setgid = Capability(6)
    public static let setuid = Capability(7)
    public static let setpcap = Capability(8)
    public static let netBindService = Capability(10)
    public static let netAdmin = Capability(12)
    public static let netRaw = Capability(13)
    public static let sysModule = Capability(16)
    public static let sysRawio = Capability(17)
    public static let sysChroot = Capability(18)
    public static let sysPtrace = Capability(19)
    public static let sysPacct = Capability(20)
    public static let sysAdmin = Capability(21)
    public static let sysBoot = Capability(22)
    public static let sysNice = Capability(23)
    public static let sysResource = Capability(24)
    public static let sysTime = Capability(25)
    public static let sysTTYConfig = Capability(26)
    public static let mknod = Capability(27)
    public static let auditWrite = Capability(29)
    public static let setfcap = Capability(31)
    public static let syslog = Capability(34)
    public static let perfmon = Capability(38)
    public static let bpf = Capability(39)
}
