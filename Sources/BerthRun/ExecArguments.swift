internal import CBerthShim
import BerthCore
import BerthConfine

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
    /// The supplementary groups as C memory: the user's, or without one root's in the
    /// container's files (never the caller's own).
    let groups: [gid_t]
    let confinement: Confinement
    /// The compiled seccomp filter (nil: none), made before the clone like everything else.
    let seccomp: [sock_filter]?
    /// The container's resource limits, as the child sets them.
    let rlimits: [berth_rlimit]

    init(command: [String], environment: [String], workingDirectory: String?, stdio: (Int32?, Int32?, Int32?), privileged: Bool,
         user: ContainerUser? = nil, rootGroups: [UInt32] = [], confinement: Confinement = Confinement(), ulimits: [Ulimit] = []) throws(BerthError) {
        let entries = try ContainerSpec.environmentEntries(environment, home: user?.home ?? "/root")
        let path = entries.first { $0.key == "PATH" }?.value ?? ContainerSpec.defaultPath
        argv = CStringArray(command)
        envp = CStringArray(entries.map { $0.key + "=" + $0.value })
        candidates = CStringArray(ContainerSpec.commandCandidates(command[0], path: path))
        self.workingDirectory = workingDirectory.map { CStringArray([$0]) }
        self.stdio = stdio
        self.privileged = privileged
        self.user = user
        groups = (user?.groups ?? rootGroups).map { gid_t($0) }
        // Privileged: the caller's capabilities untouched and no filter, as `--privileged`.
        self.confinement = privileged ? Confinement(capabilities: .all, seccomp: nil, noNewPrivileges: confinement.noNewPrivileges) : confinement
        let program = try self.confinement.seccompProgram()
        guard (program?.count ?? 0) <= Int(UInt16.max) else { throw BerthError(.internalError, "the seccomp filter is too long") }
        seccomp = program?.map { sock_filter(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        rlimits = ulimits.map { berth_rlimit(resource: $0.resource.number, soft: $0.kernelSoft, hard: $0.kernelHard) }
    }

    /// Calls `body` with a C configuration whose pointers stay valid for the call;
    /// `cgroup` is how the child gets into its container's cgroup, `console` the child's end
    /// of a socket for a new terminal's master (or -1).
    func withConfig<R>(statusFd: Int32, syncFd: Int32, parentFds: (Int32, Int32), cgroup: CgroupFiles = .none, console: Int32 = -1,
                       terminalSize: TerminalSize? = nil,
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
        config.keep_caps = confinement.capabilities.rawValue
        config.no_new_privs = confinement.noNewPrivileges ? 1 : 0
        config.clone_into_cgroup = cgroup.directory == nil ? 0 : 1
        config.cgroup_dir_fd = cgroup.directory ?? -1
        config.console_fd = console
        config.console_rows = terminalSize?.rows ?? 0
        config.console_cols = terminalSize?.columns ?? 0
        if let user {
            config.set_user = 1
            config.uid = user.uid
            config.gid = user.gid
        }
        config.group_count = Int32(groups.count)
        config.rlimit_count = Int32(rlimits.count)
        return groups.withUnsafeBufferPointer { groups in
            config.groups = groups.baseAddress
            return rlimits.withUnsafeBufferPointer { rlimits in
                config.rlimits = rlimits.baseAddress
                return cgroup.procs.withUnsafeBufferPointer { fds in
                    config.cgroup_fds = fds.baseAddress
                    config.cgroup_count = Int32(fds.count)
                    guard let seccomp else { return withExtendedLifetime(self) { body(config) } }
                    return seccomp.withUnsafeBufferPointer { program in
                        config.seccomp_filter = program.baseAddress
                        config.seccomp_length = UInt16(program.count)
                        return withExtendedLifetime(self) { body(config) }
                    }
                }
            }
        }
    }
}
