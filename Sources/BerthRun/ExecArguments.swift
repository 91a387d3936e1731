internal import CBerthShim
import BerthCore

/// Everything the child needs for execve, as C memory made before the clone: the child
/// must not allocate, so argv, envp and the PATH search candidates are ready-made strings.
struct ExecArguments {
    let argv: CStringArray
    let envp: CStringArray
    let candidates: CStringArray
    let workingDirectory: CStringArray?
    let stdio: (Int32?, Int32?, Int32?)
    let privileged: Bool
    /// The user to become before execve, resolved in the container's files; nil keeps the caller's.
    let user: ContainerUser?
    /// The supplementary groups as C memory.
    let groups: [gid_t]

    init(command: [String], environment: [String], workingDirectory: String?, stdio: (Int32?, Int32?, Int32?), privileged: Bool,
         user: ContainerUser? = nil) throws(BerthError) {
        let entries = try ContainerSpec.environmentEntries(environment, home: user?.home ?? "/root")
        let path = entries.first { $0.key == "PATH" }?.value ?? ContainerSpec.defaultPath
        argv = CStringArray(command)
        envp = CStringArray(entries.map { $0.key + "=" + $0.value })
        candidates = CStringArray(ContainerSpec.commandCandidates(command[0], path: path))
        self.workingDirectory = workingDirectory.map { CStringArray([$0]) }
        self.stdio = stdio
        self.privileged = privileged
        self.user = user
        groups = user?.groups.map { gid_t($0) } ?? []
    }

    /// Docker's default capabilities: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID,
    /// SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
    /// Without CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE… root in the container cannot
    /// remount, reconfigure its network or load modules.
    static let defaultCapabilities: UInt64 = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce(0) { $0 | (1 << $1) }

    /// Calls `body` with a C configuration whose pointers stay valid for the call.
    /// `console` is the child's end of a socket for a new terminal's master (or -1).
    func withConfig<R>(statusFd: Int32, syncFd: Int32, parentFds: (Int32, Int32), console: Int32 = -1, terminalSize: TerminalSize? = nil,
                       _ body: (berth_exec_config) -> R) -> R {
        var config = berth_exec_config()
        config.argv = argv.mutablePointer
        config.envp = envp.mutablePointer
        config.candidates = candidates.constPointer
        config.workdir = UnsafePointer(workingDirectory?.pointer[0])
        config.stdio = (stdio.0 ?? -1, stdio.1 ?? -1, stdio.2 ?? -1)
        config.status_fd = statusFd
        config.sync_fd = syncFd
        config.parent_fds = parentFds
        config.limit_caps = privileged ? 0 : 1
        config.keep_caps = Self.defaultCapabilities
        config.console_fd = console
        config.console_rows = terminalSize?.rows ?? 0
        config.console_cols = terminalSize?.columns ?? 0
        if let user {
            config.set_user = 1
            config.uid = user.uid
            config.gid = user.gid
            config.group_count = Int32(groups.count)
        }
        return groups.withUnsafeBufferPointer { groups in
            config.groups = groups.baseAddress
            return withExtendedLifetime(self) { body(config) }
        }
    }
}
