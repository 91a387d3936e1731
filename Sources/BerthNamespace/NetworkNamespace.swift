#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CBerthShim
import SystemPackage
public import BerthCore

#if canImport(Glibc)
/// SOCK_CLOEXEC: a member of an enum in Glibc's module, a plain Int32 in Musl's.
let socketCloseOnExec = Int32(SOCK_CLOEXEC.rawValue)
#else
let socketCloseOnExec = SOCK_CLOEXEC
#endif

/// A network namespace, held open by a file descriptor for as long as this object lives.
///
/// Named namespaces live where iproute2 keeps them (`/run/netns/NAME`, a bind mount of the
/// namespace file), so `ip netns` and Berth see each other's. Two handles are equal when
/// they refer to the same kernel namespace, however they were opened.
public final class NetworkNamespace: Sendable, Hashable, CustomStringConvertible {
    /// Where named namespaces are mounted, as in iproute2.
    public static let runDirectory = "/run/netns"

    /// The open namespace file.
    public let descriptor: Int32
    /// The namespace's kernel identity.
    public let identity: NamespaceIdentity
    /// The path it was opened from.
    public let path: String
    /// The name under `/run/netns`, if it was opened or created by name.
    public let name: String?

    private init(descriptor: Int32, path: String, name: String?) throws(BerthError) {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else {
            let error = Errno.current
            close(descriptor)
            throw .system("stat network namespace \(path)", error, object: .namespace(path))
        }
        if berth_fd_fs_type(descriptor) != Self.nsfsMagic {
            close(descriptor)
            throw .invalid("\(path) is not a network namespace", hint: "give a name from \(Self.runDirectory) or a path such as /proc/PID/ns/net",
                           object: .namespace(path))
        }
        self.descriptor = descriptor
        self.identity = NamespaceIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        self.path = path
        self.name = name
    }

    /// A stand-in with no kernel namespace behind it, for the fake kernels of tests (package
    /// access: not part of the library's API). `descriptor` is any open file, owned and closed
    /// by this handle; `identity`, `path` and `name` are whatever the fake uses.
    package init(standIn descriptor: Int32, identity: NamespaceIdentity, path: String, name: String?) {
        self.descriptor = descriptor
        self.identity = identity
        self.path = path
        self.name = name
    }

    deinit { close(descriptor) }

    private static let nsfsMagic = 0x6e73_6673
    /// UMOUNT_NOFOLLOW of <sys/mount.h> (not every C library's module exports it).
    private static let umountNoFollow: Int32 = 8

    // MARK: - Opening

    /// Opens the namespace at `path` (`/run/netns/NAME`, `/proc/PID/ns/net`, …).
    public static func open(path: String) throws(BerthError) -> NetworkNamespace {
        // Only an nsfs file is opened: `--netns /dev/watchdog` by mistake must not open a
        // device, which can act on open (the watchdog starts counting). A path that cannot
        // be read here is left to the open below, which words its error.
        let fsType = berth_path_fs_type(path)
        if fsType >= 0, fsType != nsfsMagic {
            throw .invalid("\(path) is not a network namespace", hint: "give a name from \(runDirectory) or a path such as /proc/PID/ns/net",
                           object: .namespace(path))
        }
        let fd: FileDescriptor
        do {
            // Non-blocking: a FIFO at the path would otherwise block the open forever (it is
            // refused below as not a namespace); nothing changes for an nsfs file.
            fd = try FileDescriptor.open(closeOnExec: path, .readOnly, options: [.nonBlocking])
        } catch {
            if error.code == ENOENT {
                throw BerthError(.notFound, "network namespace \(path) does not exist", object: .namespace(path),
                                 remedy: .listExisting(.namespace))
            }
            // Another user's /proc/PID/ns/net is guarded by ptrace access, not CAP_SYS_ADMIN.
            throw .system("open network namespace \(path)", error, privilege: path.hasPrefix("/proc/") ? "CAP_SYS_PTRACE" : "CAP_SYS_ADMIN",
                          object: .namespace(path))
        }
        let fileName = path.split(separator: "/").last.map(String.init)
        let isNamed = path.hasPrefix(runDirectory + "/") && path.split(separator: "/").count == 3
        let ns = try NetworkNamespace(descriptor: fd.rawValue, path: path, name: isNamed ? fileName : nil)
        try ns.checkIsNetworkNamespace()
        return ns
    }

    /// Opens a named namespace from `/run/netns`.
    public static func open(named name: String) throws(BerthError) -> NetworkNamespace {
        try validate(name: name)
        return try open(path: runDirectory + "/" + name)
    }

    /// Opens the network namespace of process `pid`.
    public static func open(pid: Int32) throws(BerthError) -> NetworkNamespace {
        guard pid > 0 else { throw .invalid("invalid process id \(pid)", hint: "give a positive pid") }
        do {
            return try open(path: "/proc/\(pid)/ns/net")
        } catch where error.code == .notFound {
            throw BerthError(.notFound, "no process \(pid)", object: BerthError.Object(.process, "\(pid)"))
        }
    }

    /// Opens a name from `/run/netns` or, when it contains a '/', a path.
    public static func open(nameOrPath: String) throws(BerthError) -> NetworkNamespace {
        nameOrPath.contains("/") ? try open(path: nameOrPath) : try open(named: nameOrPath)
    }

    /// The calling thread's network namespace.
    public static func current() throws(BerthError) -> NetworkNamespace {
        try open(path: "/proc/thread-self/ns/net")
    }

    /// Checks the file is a *network* namespace, not another kind of nsfs file.
    private func checkIsNetworkNamespace() throws(BerthError) {
        // NS_GET_NSTYPE = _IO(0xb7, 0x3); answers CLONE_NEWNET for a network namespace.
        let nsGetNSType: UInt = 0xb703
        let type = ioctl(descriptor, nsGetNSType)
        let isNetwork: Bool
        if type >= 0 {
            isNetwork = type == BERTH_CLONE_NEWNET
        } else {
            // No answer (a kernel before 4.11): the descriptor's link, `net:[INODE]` for a
            // network namespace, tells the kind. Anything else is refused, not assumed.
            var link = [UInt8](repeating: 0, count: 64)
            let count = readlink("/proc/self/fd/\(descriptor)", &link, link.count)
            isNetwork = count > 5 && link[..<5].elementsEqual("net:[".utf8)
        }
        if !isNetwork {
            throw .invalid("\(path) is a namespace, but not a network namespace", hint: "use a path such as /proc/PID/ns/net",
                           object: .namespace(path))
        }
    }

    // MARK: - Creating and deleting

    /// Creates a named namespace, bind-mounted at `/run/netns/NAME` exactly as
    /// `ip netns add NAME` does.
    ///
    /// `prepare` runs in the new namespace before it gets its name, on a thread of its own
    /// (a socket it opens is in the new namespace): what it sets, such as a tag, is there
    /// before any other program can open the namespace by name. If it throws, nothing is
    /// left.
    public static func create(named name: String, prepare: () throws(BerthError) -> Void = {}) throws(BerthError) -> NetworkNamespace {
        try validate(name: name)
        try prepareRunDirectory()
        let path = runDirectory + "/" + name
        do {
            let fd = try FileDescriptor.open(closeOnExec: path, .readOnly, options: [.create, .exclusiveCreate], permissions: [])
            try? fd.close()
        } catch {
            if error.code == EEXIST {
                // An empty file, not a namespace: a create that was interrupted between the
                // file and its bind mount (iproute2 leaves the same). Not removed here: a
                // concurrent create may be between the two steps.
                if berth_path_fs_type(path) != nsfsMagic {
                    throw BerthError(.alreadyExists, "\(path) is a leftover file of an interrupted namespace create, not a namespace",
                                     object: .namespace(name), remedy: .remove(.namespace(name)))
                }
                throw BerthError(.alreadyExists, "network namespace \(name) already exists", object: .namespace(name),
                                 parameter: "name", remedy: .chooseAnother(parameter: "name"))
            }
            throw .system("create \(path)", error, object: .namespace(name))
        }
        do {
            try NamespaceThread.run { () throws(BerthError) in
                guard berth_unshare(BERTH_CLONE_NEWNET) == 0 else {
                    throw .system("create a network namespace (unshare)", .current, object: .namespace(name))
                }
                try prepare()
                guard mount("/proc/thread-self/ns/net", path, "none", UInt(MS_BIND), nil) == 0 else {
                    throw .system("bind-mount the new namespace on \(path)", .current, object: .namespace(name))
                }
            }
            return try open(path: path)
        } catch {
            umount2(path, Int32(MNT_DETACH))
            unlink(path)
            throw error
        }
    }

    /// Whether `/run/netns/NAME` is what an interrupted `create(named:)` (or `ip netns add`)
    /// leaves: an empty regular file with no namespace mounted on it. `delete(named:)`
    /// removes one; `create(named:)` refuses to take its place. A create under way between
    /// its two steps shows the same, so a caller treats it as a leftover only for a name it
    /// alone creates (under a lock of its own).
    public static func isLeftover(named name: String) -> Bool {
        guard (try? validate(name: name)) != nil else { return false }
        let path = runDirectory + "/" + name
        var st = stat()
        // lstat: a symlink is not followed; an nsfs mount (a regular file of size 0 too) is
        // told apart by its file system.
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size == 0 else { return false }
        return berth_path_fs_type(path) != nsfsMagic
    }

    /// Creates a namespace that has no name: it lives as long as the returned handle
    /// (or anything else that holds it, such as a socket opened in it).
    ///
    /// Its `path` is `/proc/PID/fd/FD`, the handle's descriptor in this process: it names
    /// the namespace only while this process keeps the handle open, so `NetworkManager`'s
    /// `attach` and `publish` refuse it (they record the path, for `gc` to find the
    /// namespace again from another process). For scratch work in this process only; to
    /// attach a namespace, name it (`create(named:)`) or give `/proc/PID/ns/net` of a
    /// process that lives in it.
    public static func createAnonymous() throws(BerthError) -> NetworkNamespace {
        let fd: Int32 = try NamespaceThread.run { () throws(BerthError) -> Int32 in
            guard berth_unshare(BERTH_CLONE_NEWNET) == 0 else {
                throw .system("create a network namespace (unshare)", .current)
            }
            do throws(Errno) {
                return try FileDescriptor.open(closeOnExec: "/proc/thread-self/ns/net", .readOnly).rawValue
            } catch {
                throw .system("open the new network namespace", error)
            }
        }
        return try NetworkNamespace(descriptor: fd, path: "/proc/\(getpid())/fd/\(fd)", name: nil)
    }

    /// Deletes a named namespace: unmounts and unlinks `/run/netns/NAME`, as
    /// `ip netns del` does. The namespace itself lives on while processes or open
    /// handles still hold it.
    public static func delete(named name: String) throws(BerthError) {
        try validate(name: name)
        let path = runDirectory + "/" + name
        // UMOUNT_NOFOLLOW: a symlink planted at the path is not followed to unmount
        // whatever it points at; the leftover link itself is unlinked below.
        if umount2(path, Int32(MNT_DETACH) | umountNoFollow) != 0 {
            let error = Errno.current
            if error.code == ENOENT {
                throw BerthError(.notFound, "network namespace \(name) does not exist", object: .namespace(name),
                                 remedy: .listExisting(.namespace))
            }
            // EINVAL: not a mount point, a leftover file; unlink it all the same.
            if error.code != EINVAL { throw .system("unmount \(path)", error, object: .namespace(name)) }
        }
        if unlink(path) != 0, errno != ENOENT {
            throw .system("remove \(path)", .current, object: .namespace(name))
        }
    }

    /// The names under `/run/netns` that hold a namespace, whoever made them, sorted.
    public static func list() throws(BerthError) -> [String] {
        guard let dir = opendir(runDirectory) else {
            if errno == ENOENT { return [] }
            throw .system("list \(runDirectory)", .current)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            // A file that is not (or no longer) an nsfs mount is a leftover, not a namespace.
            if berth_path_fs_type(runDirectory + "/" + name) == nsfsMagic {
                names.append(name)
            }
        }
        return names.sorted()
    }

    /// Checks a namespace name as iproute2 does: non-empty, no '/', not "." or "..".
    public static func validate(name: String) throws(BerthError) {
        let fix = "use letters, digits, '-', '_' and '.', without '/'"
        if name.isEmpty { throw .invalid("network namespace name is empty", hint: fix) }
        if name == "." || name == ".." { throw .invalid("network namespace name \"\(name)\" is reserved", hint: fix) }
        if name.utf8.contains(UInt8(ascii: "/")) || name.utf8.contains(0) {
            throw .invalid("network namespace name \"\(name)\" contains '/' or NUL", hint: fix)
        }
        if name.utf8.count > 255 { throw .invalid("network namespace name is over 255 bytes", hint: fix) }
    }

    /// Makes `/run/netns` a shared mount point, so a namespace mounted into it is seen by
    /// every mount namespace, the way iproute2 sets it up.
    private static func prepareRunDirectory() throws(BerthError) {
        if mkdir(runDirectory, 0o755) != 0, errno != EEXIST {
            throw .system("create \(runDirectory)", .current)
        }
        let sharedFlags = UInt(MS_SHARED) | UInt(MS_REC)
        if mount("", runDirectory, "none", sharedFlags, nil) == 0 { return }
        guard errno == EINVAL else { throw .system("make \(runDirectory) a shared mount", .current) }
        // Not a mount point yet: bind it onto itself first.
        guard mount(runDirectory, runDirectory, "none", UInt(MS_BIND) | UInt(MS_REC), nil) == 0 else {
            throw .system("bind-mount \(runDirectory) onto itself", .current)
        }
        guard mount("", runDirectory, "none", sharedFlags, nil) == 0 else {
            throw .system("make \(runDirectory) a shared mount", .current)
        }
    }

    // MARK: - Working inside

    /// Runs `body` on a dedicated thread that has entered this namespace, and returns its
    /// result. No shared thread ever changes namespace. (A socket needs no Swift inside the
    /// namespace: `openSocket` does it on a cheaper, bare thread.)
    public func run<T>(_ body: () throws(BerthError) -> T) throws(BerthError) -> T {
        try NamespaceThread.run(inNamespace: descriptor, named: description, body)
    }

    // MARK: - sysctl

    /// Reads a per-namespace sysctl such as `net/ipv4/ip_forward` (or `net.ipv4.ip_forward`).
    public func sysctl(_ key: String) throws(BerthError) -> String {
        let path = try Self.sysctlPath(key)
        return try run { () throws(BerthError) -> String in try Self.readFile(path) }
    }

    /// Writes a per-namespace sysctl only if its value differs; returns whether it wrote.
    @discardableResult
    public func setSysctl(_ key: String, to value: String) throws(BerthError) -> Bool {
        let path = try Self.sysctlPath(key)
        return try run { () throws(BerthError) -> Bool in try Self.writeSysctl(path, to: value) }
    }

    /// `setSysctl` in the calling thread's own namespace, on the calling thread: a
    /// `/proc/sys/net` file is the opening thread's namespace's, so no namespace thread (an
    /// 8 MiB stack, a malloc arena, ~15 system calls) is needed. What `SystemKernel` does
    /// for a host handle on the caller's own namespace (`HostHandle.socketNamespace` nil).
    package static func setCallerSysctl(_ key: String, to value: String) throws(BerthError) -> Bool {
        try writeSysctl(sysctlPath(key), to: value)
    }

    private static func writeSysctl(_ path: String, to value: String) throws(BerthError) -> Bool {
        if try readFile(path) == value { return false }
        let fd: FileDescriptor
        do throws(Errno) { fd = try FileDescriptor.open(closeOnExec: path, .writeOnly) } catch { throw .system("open \(path)", error) }
        defer { try? fd.close() }
        // One write: the kernel parses a sysctl from the first write's bytes.
        do throws(Errno) {
            try write(value + "\n", to: fd)
        } catch {
            throw .system("write \(value) to \(path)", error)
        }
        return true
    }

    /// `/proc/sys/...` for a key given with '/' or, when it has no '/', with '.' separators.
    /// Interface names may contain dots, so keys that name one should use '/'.
    package static func sysctlPath(_ key: String) throws(BerthError) -> String {
        let parts = key.contains("/") ? key.split(separator: "/", omittingEmptySubsequences: false) : key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.first == "net", parts.count >= 2, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalid("invalid sysctl key \"\(key)\"", hint: "name a per-namespace key under net/, like net/ipv4/ip_forward")
        }
        // Appended part by part: `[Substring].joined(separator:)` is the stdlib's unspecialised
        // generic, whose first use looks up associated types and conformances at run time
        // (≈ 0.14 M instructions of an attach).
        var path = "/proc/sys"
        for part in parts {
            path += "/"
            path += String(part)
        }
        return path
    }

    /// Writes all of `text` to `fd` (a sysctl file: the kernel parses the first write).
    /// Not swift-system's `writeAll`, a generic over `Sequence` whose first use in a process
    /// costs ≈ 0.12 M instructions of metadata and conformance lookups.
    static func write(_ text: String, to fd: FileDescriptor) throws(Errno) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = try withErrno { try bytes.withUnsafeBytes { try fd.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) } }
            // A write of nothing would repeat forever; a sysctl file that takes no bytes is full.
            guard written > 0 else { throw Errno.noSpace }
            offset += written
        }
    }

    private static func readFile(_ path: String) throws(BerthError) -> String {
        let fd: FileDescriptor
        do {
            // Non-blocking: a FIFO at the path would otherwise block the open forever (it is
            // refused below as not a namespace); nothing changes for an nsfs file.
            fd = try FileDescriptor.open(closeOnExec: path, .readOnly, options: [.nonBlocking])
        } catch {
            if error.code == ENOENT { throw BerthError(.notFound, "sysctl \(path) does not exist", cause: error) }
            throw .system("open \(path)", error)
        }
        defer { try? fd.close() }
        let bytes: [UInt8]
        do { bytes = try fd.readToEnd(limit: 65536) } catch { throw .system("read \(path)", error) }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    // MARK: - Identity

    public static func == (lhs: NetworkNamespace, rhs: NetworkNamespace) -> Bool { lhs.identity == rhs.identity }
    public func hash(into hasher: inout Hasher) { hasher.combine(identity) }

    public var description: String { name ?? path }
}
