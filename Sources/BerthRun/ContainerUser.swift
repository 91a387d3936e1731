#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
import BerthNamespace

/// The user a container's command runs as (`docker run -u USER[:GROUP]`), resolved against
/// the container's own `/etc/passwd` and `/etc/group`, never the host's.
///
/// As Docker (runc's user lookup): a name must be in the container's passwd file; a number
/// need not be. The group is the one given, else the user's primary group from passwd, else
/// 0. Without an explicit group the supplementary groups are those of `/etc/group` that
/// list the user's name; with one, there are none. `HOME` defaults to the user's home
/// directory from passwd, else `/`.
public struct ContainerUser: Sendable, Hashable {
    /// The user id the command runs as.
    public var uid: UInt32
    /// The primary group id the command runs as.
    public var gid: UInt32
    /// Supplementary groups.
    public var groups: [UInt32]
    /// The home directory, for `HOME`.
    public var home: String

    /// A resolved user; no supplementary groups and `HOME` of `/` unless given.
    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = [], home: String = "/") {
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    /// Checks the spelling: `USER`, `USER:GROUP`, each a name or a number, no empty part.
    public static func validate(_ spec: String) throws(BerthError) {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0 == "\n" || $0 == "\0" }) }) else {
            throw .invalid("invalid user \"\(spec)\"", hint: "write USER, UID, USER:GROUP or UID:GID", parameter: "user")
        }
        if let uid = UInt32(parts[0]), uid == UInt32.max { throw .invalid("user id \(uid) is out of range", parameter: "user") }
    }

    /// Resolves `spec` in the root filesystem `root` (`/` for a container on the host's files;
    /// `/proc/PID/root` for a running one).
    public static func resolve(_ spec: String, root: String) throws(BerthError) -> ContainerUser {
        try validate(spec)
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let passwd = PasswdFile.read(root: root, name: "passwd")
        let groupFile = PasswdFile.read(root: root, name: "group")
        let user = parts[0]
        // passwd: name:password:uid:gid:gecos:home:shell
        let entry = passwd.first { $0.count >= 7 && ($0[0] == user || $0[2] == user) }
        var resolved: ContainerUser
        if let entry, let uid = UInt32(entry[2]), let gid = UInt32(entry[3]) {
            resolved = ContainerUser(uid: uid, gid: gid, home: entry[5].isEmpty ? "/" : entry[5])
        } else if let uid = UInt32(user) {
            resolved = ContainerUser(uid: uid, gid: 0)
        } else {
            throw BerthError(.notFound, "unable to find user \(user): no matching entries in passwd file", hint: "give a user of the container's /etc/passwd, or a numeric uid",
                             parameter: "user")
        }
        let name = entry?[0]
        if parts.count == 2 {
            let group = parts[1]
            // group: name:password:gid:members
            if let line = groupFile.first(where: { $0.count >= 3 && ($0[0] == group || $0[2] == group) }), let gid = UInt32(line[2]) {
                resolved.gid = gid
            } else if let gid = UInt32(group) {
                resolved.gid = gid
            } else {
                throw BerthError(.notFound, "unable to find group \(group): no matching entries in group file", hint: "give a group of the container's /etc/group, or a numeric gid",
                                 parameter: "user")
            }
        }
        if let name, parts.count == 1 {
            for line in groupFile where line.count >= 4 {
                guard let gid = UInt32(line[2]), line[3].split(separator: ",").contains(where: { $0 == name }) else { continue }
                if !resolved.groups.contains(gid) { resolved.groups.append(gid) }
            }
        }
        return resolved
    }
}

extension ContainerUser {
    /// The supplementary groups root gets without `-u`, as runc's for its default user: those
    /// of `root`'s `/etc/group` that list the name uid 0 has in `/etc/passwd`; none without one.
    static func rootGroups(root: String) -> [UInt32] {
        (try? resolve("0", root: root))?.groups ?? []
    }
}

/// A colon-separated account file (`/etc/passwd`, `/etc/group`) of a root filesystem, read
/// as untrusted input: through `etc` opened without following links, at most 1 MiB, comment
/// and malformed lines skipped. A missing or unreadable file is an empty one.
///
/// The file is looked at (O_PATH) before it is opened: root in a running container can
/// replace it by a device node (`mknod /etc/group c 10 130`), and opening that from the
/// host, as `berth exec` reads the container's files through /proc/PID/root, would open the
/// host's device (a watchdog, a tape) with its side effects. Only a regular file is opened,
/// through the descriptor that was checked.
enum PasswdFile {
    static let limit = 1 << 20
    /// O_PATH (Linux's value on every architecture Berth builds for), which Glibc's Swift
    /// module leaves out (it is a _GNU_SOURCE name).
    static let pathOnly: Int32 = 0o10_000_000

    static func read(root: String, name: String) -> [[String]] {
        let rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootfd >= 0 else { return [] }
        defer { close(rootfd) }
        let etc = openat(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard etc >= 0 else { return [] }
        defer { close(etc) }
        let path = openat(etc, name, Self.pathOnly | O_NOFOLLOW | O_CLOEXEC)
        guard path >= 0 else { return [] }
        defer { close(path) }
        var st = stat()
        guard fstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return [] }
        let fd = open("/proc/self/fd/\(path)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        // The same file as checked (a reopen through the descriptor cannot be redirected).
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_dev == st.st_dev, opened.st_ino == st.st_ino else { return [] }
        return parse(FileIO.readAll(fd, limit: limit))
    }

    static func parse(_ bytes: [UInt8]) -> [[String]] {
        String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            return trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }
}
