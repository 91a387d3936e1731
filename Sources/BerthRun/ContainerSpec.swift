#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthConfine
import BerthNamespace

/// What to run and how to isolate it: the process half of a container (`RunOptions.process`).
///
/// A value with no side effects; `ContainerProcess.spawn(_:)` validates it (see `validate()`)
/// and does the work.
public struct ContainerSpec: Sendable, Hashable {
    /// The command and its arguments. A name without '/' is looked up in the container's
    /// `PATH`, inside the root filesystem when there is one.
    public var command: [String]
    /// Namespaces of its own; `.all` by default. Leave `.network` out to share the caller's network.
    public var namespaces: ContainerNamespaces
    /// Hostname inside the container (needs `.uts`); nil keeps the caller's.
    public var hostname: String?
    /// Absolute path of a directory to use as `/` (needs `.mount`); nil keeps the host's
    /// filesystem. It gets a fresh `/proc`, a fresh `/sys` (read-only unless privileged) and a
    /// minimal `/dev`, and is otherwise used as is.
    public var rootfs: String?
    /// `KEY=VALUE` entries; a later one replaces an earlier one with the same key.
    /// `PATH` and `HOME` get Docker's defaults unless given, and, as Docker gives every
    /// container, `HOSTNAME` its hostname and, with `terminal`, `TERM` `xterm`
    /// (`processEnvironment`).
    public var environment: [String]
    /// Absolute directory to start in (inside the rootfs); nil means `/`.
    public var workingDirectory: String?
    /// Descriptors to give the command as stdin, stdout and stderr; nil inherits the caller's.
    /// The caller keeps ownership: they are duplicated, never closed.
    public var stdin: Int32?
    /// The command's stdout; nil inherits the caller's (see `stdin`).
    public var stdout: Int32?
    /// The command's stderr; nil inherits the caller's (see `stdin`).
    public var stderr: Int32?
    /// Lift Docker's default confinement, as `docker run --privileged` does. By default root
    /// in the container keeps only Docker's default capabilities (no CAP_SYS_ADMIN,
    /// CAP_NET_ADMIN, CAP_SYS_MODULE, …), and, given a mount namespace, sees the kernel files
    /// that leak or harm the host masked (`/proc/kcore`, `/proc/keys`, `/sys/firmware`, …),
    /// the machine-wide knobs read-only (`/proc/sys`, `/proc/sysrq-trigger`, …) and a
    /// read-only `/sys` that shows its own network devices. Without `.mount` nothing can be
    /// masked: the container shares the caller's mounts.
    public var privileged: Bool
    /// The user to run as, Docker's `-u` spelling (`USER[:GROUP]`, names or numbers),
    /// resolved in the container's `/etc/passwd` and `/etc/group` (see `ContainerUser`);
    /// nil keeps the caller's (root).
    public var user: String?
    /// Host paths bound into the root filesystem (needs `rootfs`), attached parents first
    /// (by the target's depth, equal depths in this order: `BindMount.inMountOrder`).
    public var mounts: [BindMount]
    /// Make the root filesystem read-only, as `docker run --read-only` (needs `rootfs`):
    /// `/dev`, `/dev/shm` and the volumes stay writable.
    public var readOnlyRootfs: Bool
    /// Give the command a new pseudo-terminal as its stdin, stdout, stderr and controlling
    /// terminal (`docker run -t`), made inside the container; `stdin`, `stdout` and `stderr`
    /// are then ignored, and the master comes back as `ContainerProcess.terminal`.
    public var terminal: Bool
    /// The terminal's size at start (with `terminal`); nil leaves it 0x0 until set.
    public var terminalSize: TerminalSize?
    /// Capabilities, the seccomp filter and no_new_privs: Docker's defaults unless changed
    /// (as `docker run --cap-add` or `--security-opt seccomp=unconfined` change them).
    /// `privileged` overrides the first two (every capability, no filter).
    public var confinement: Confinement
    /// Resource limits (setrlimit) the command starts with, as `docker run --ulimit`, one per
    /// name; none by default (the caller's own are inherited). Set in the child before its
    /// command is released, while it still holds every capability: a hard limit above the
    /// caller's own needs CAP_SYS_RESOURCE there. `berth exec`'s commands get them too.
    public var ulimits: [Ulimit] = []
    /// Run an init as the container's PID 1 (`docker run --init`) that runs the command as its
    /// child, forwards it every signal, reaps every orphaned process and exits with the
    /// command's status (128+N for signal N). The init is the container's first process,
    /// confined as the command is, which forks the command and then execs `berth-init` (found
    /// beside the running binary, through a read-only view of it: no file is put into the
    /// container; without it, the loop runs in place, non-dumpable); it shows as `berth-init`
    /// in the container. Needs `.pid`. Off by default: the command is PID 1.
    public var initProcess = false

    /// Docker's default `PATH`.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// A spec for `command` (its program first); every other setting defaults to Docker's.
    public init(command: [String], namespaces: ContainerNamespaces = .all, hostname: String? = nil, rootfs: String? = nil,
                environment: [String] = [], workingDirectory: String? = nil,
                stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil, privileged: Bool = false,
                user: String? = nil, mounts: [BindMount] = [], readOnlyRootfs: Bool = false, terminal: Bool = false,
                terminalSize: TerminalSize? = nil, confinement: Confinement = Confinement()) {
        self.command = command
        self.namespaces = namespaces
        self.hostname = hostname
        self.rootfs = rootfs
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.privileged = privileged
        self.user = user
        self.mounts = mounts
        self.readOnlyRootfs = readOnlyRootfs
        self.terminal = terminal
        self.terminalSize = terminalSize
        self.confinement = confinement
    }

    /// Checks everything that can be checked before a process exists, so a bad spec fails
    /// with a message naming the bad value and nothing is started.
    public func validate() throws(BerthError) {
        try Self.validate(command: command)
        if let hostname {
            try Self.validate(hostname: hostname)
            guard namespaces.contains(.uts) else {
                throw .invalid("a hostname needs a UTS namespace", hint: "keep the UTS namespace, or give no hostname", parameter: "hostname")
            }
        }
        if let rootfs {
            try Self.validateAbsolute(rootfs, what: "root filesystem", parameter: "rootfs")
            guard rootfs.utf8.contains(where: { $0 != UInt8(ascii: "/") }) else {
                throw .invalid("root filesystem \"/\" is the host's own root", hint: "give no root filesystem to run on the host's files", parameter: "rootfs")
            }
            guard namespaces.contains(.mount) else {
                throw .invalid("a root filesystem needs a mount namespace", hint: "keep the mount namespace, or give no root filesystem", parameter: "rootfs")
            }
            // Without a pid namespace of its own, the container's /proc shows the host's
            // processes, and a path through /proc/1/root (the host's root) made by the child
            // with every capability (a volume's mount point, -w) would land on the host.
            guard namespaces.contains(.pid) else {
                throw .invalid("a root filesystem needs a pid namespace", hint: "keep the pid namespace, or give no root filesystem", parameter: "rootfs")
            }
            var st = stat()
            guard stat(rootfs, &st) == 0 else {
                let error = Errno(errno)
                if error.code == ENOENT {
                    throw BerthError(.notFound, "root filesystem \(rootfs) does not exist", hint: "give an existing directory", object: .file(rootfs),
                                     parameter: "rootfs", cause: error)
                }
                throw BerthError.system("inspect root filesystem \(rootfs)", error).with(object: .file(rootfs), parameter: "rootfs")
            }
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw .invalid("root filesystem \(rootfs) is not a directory", hint: "give a directory that holds bin/, etc/, …", parameter: "rootfs")
            }
        }
        if let workingDirectory { try Self.validateAbsolute(workingDirectory, what: "working directory", parameter: "workingDirectory") }
        if let user {
            // Any capability set: the user is switched before the capabilities are limited
            // (runc's PR_SET_KEEPCAPS order), so SETUID and SETGID need not be kept.
            try ContainerUser.validate(user)
        }
        // Berth's own /etc files (optional mounts) also go over the host's, in a mount
        // namespace of the container's; a volume needs a root filesystem to land in.
        if mounts.contains(where: \.optional), rootfs == nil, !namespaces.contains(.mount) {
            throw .invalid("the container's /etc files need a mount namespace", hint: "keep the mount namespace", parameter: "mounts")
        }
        if !mounts.isEmpty {
            guard rootfs != nil || mounts.allSatisfy(\.optional) else {
                throw .invalid("volumes need a root filesystem", hint: "give a root filesystem, or no volumes", parameter: "volumes")
            }
            try BindMount.validate(mounts)
        }
        if initProcess, !namespaces.contains(.pid) {
            throw .invalid("an init needs a pid namespace of the container's", hint: "keep the pid namespace, or run no init", parameter: "init")
        }
        if readOnlyRootfs, rootfs == nil {
            throw .invalid("a read-only root filesystem needs a root filesystem", hint: "give a root filesystem, or leave the host's files as they are",
                           parameter: "readOnlyRootfs")
        }
        _ = try Self.environmentEntries(environment)
        try Ulimit.validate(ulimits)
        for (name, fd) in [("stdin", stdin), ("stdout", stdout), ("stderr", stderr)] {
            guard let fd else { continue }
            guard fd >= 0, fcntl(fd, F_GETFD) >= 0 else {
                throw .invalid("\(name) descriptor \(fd) is not open", hint: "pass an open descriptor, or nil to inherit", parameter: name)
            }
        }
    }

    static func validate(command: [String]) throws(BerthError) {
        guard let program = command.first else {
            throw .invalid("no command given", hint: "give the program to run and its arguments", parameter: "command")
        }
        guard !program.isEmpty else { throw .invalid("the command name is empty", hint: "give a program name or path", parameter: "command") }
        for argument in command where argument.utf8.contains(0) {
            throw .invalid("command argument \"\(argument)\" contains a NUL byte", parameter: "command")
        }
    }

    static func validate(hostname: String) throws(BerthError) {
        let fix = "use 1-64 letters, digits, '-' and '.', not starting with '-' or '.'"
        let bytes = Array(hostname.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { throw .invalid("hostname \"\(hostname)\" must be 1 to 64 bytes", hint: fix, parameter: "hostname") }
        let allowed = bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
        }
        guard allowed, bytes[0] != UInt8(ascii: "-"), bytes[0] != UInt8(ascii: ".") else {
            throw .invalid("invalid hostname \"\(hostname)\"", hint: fix, parameter: "hostname")
        }
    }

    static func validateAbsolute(_ path: String, what: String, parameter: String) throws(BerthError) {
        guard path.hasPrefix("/") else {
            throw .invalid("\(what) \"\(path)\" is not an absolute path", hint: "give a path starting with '/'", parameter: parameter)
        }
        guard !path.utf8.contains(0) else { throw .invalid("\(what) \"\(path)\" contains a NUL byte", parameter: parameter) }
    }

    /// `environment` after the variables Docker's daemon sets before the container's own
    /// (moby's `CreateDaemonEnvironment`): `HOSTNAME` (the spec's, else the caller's, which
    /// it keeps) and `TERM=xterm` with a terminal; an entry of the spec's with the same name
    /// wins.
    public var processEnvironment: [String] {
        Self.daemonEnvironment(hostname: hostname ?? Self.currentHostname(), terminal: terminal) + environment
    }

    /// The entries Docker's daemon puts before a process's own (`PATH` and `HOME` aside, which
    /// `environmentEntries` adds): `HOSTNAME`, and `TERM=xterm` when it has a terminal
    /// (`docker run -t`, `docker exec -t`).
    public static func daemonEnvironment(hostname: String?, terminal: Bool) -> [String] {
        (hostname.map { ["HOSTNAME=" + $0] } ?? []) + (terminal ? ["TERM=xterm"] : [])
    }

    /// This process's hostname (its UTS namespace's), nil if unreadable.
    static func currentHostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `KEY=VALUE` entries into an ordered list with unique keys (last one wins), with
    /// the defaults Docker gives (`PATH`, `HOME`) added when missing.
    public static func environmentEntries(_ entries: [String], home: String = "/root") throws(BerthError) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        var index: [String: Int] = [:]
        func set(_ key: String, _ value: String) {
            if let at = index[key] { result[at].value = value } else { index[key] = result.count; result.append((key, value)) }
        }
        set("PATH", defaultPath)
        set("HOME", home)
        for entry in entries {
            guard let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw .invalid("environment entry \"\(entry)\" has no '='", hint: "write KEY=VALUE", parameter: "environment")
            }
            let key = String(entry[..<equals])
            let value = String(entry[entry.index(after: equals)...])
            guard !key.isEmpty else { throw .invalid("environment entry \"\(entry)\" has an empty name", hint: "write KEY=VALUE", parameter: "environment") }
            guard !entry.utf8.contains(0) else { throw .invalid("environment entry \"\(key)\" contains a NUL byte", parameter: "environment") }
            set(key, value)
        }
        return result
    }

    /// The paths to try for the command, in order: itself when it names a path, otherwise
    /// each `PATH` directory (the container's `PATH`, as `execvp` would search it).
    static func commandCandidates(_ program: String, path: String) -> [String] {
        if program.contains("/") { return [program] }
        return path.split(separator: ":", omittingEmptySubsequences: false).map { dir in
            dir.isEmpty ? program : (dir.hasSuffix("/") ? dir + program : dir + "/" + program)
        }
    }
}
