#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace

/// The filesystem side of the state directory: create it 0700, create files in it 0600,
/// and never follow a symlink planted where Berth keeps its files.
///
/// Files are opened relative to a descriptor of the directory (`openat`), so swapping the
/// directory for a symlink after the check cannot redirect them.
enum StateFiles {
    static let directoryMode: mode_t = 0o700
    /// What reaches a state file it cannot otherwise: the files are their owner's alone
    /// (0700, 0600), so a refusal is about file permissions, not a network capability.
    static let filePrivilege = "CAP_DAC_OVERRIDE"
    static let fileMode: mode_t = 0o600

    /// Creates `path` (and missing parents) if needed, checks it is a real directory that no
    /// one else can write, and returns a descriptor of it for `openat`.
    static func openDirectory(_ path: String) throws(BerthError) -> Int32 {
        guard !path.isEmpty else {
            throw .invalid("empty state directory path", hint: "give a state directory, or leave it unset for the default",
                           parameter: "stateDirectory")
        }
        var info = stat()
        if lstat(path, &info) != 0 {
            let err = Errno.current
            guard err.code == ENOENT else { throw .system("cannot inspect state directory \(path)", err, privilege: filePrivilege, object: .state(path)) }
            try makeParents(of: path)
            if mkdir(path, directoryMode) != 0, errno != EEXIST {
                throw .system("cannot create state directory \(path)", Errno.current, privilege: filePrivilege, object: .state(path))
            }
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let err = Errno.current
            if err.code == ELOOP || err.code == ENOTDIR { throw symlinkOrNotDirectory(path) }
            throw .system("cannot open state directory \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        guard fstat(fd, &info) == 0 else {
            let err = Errno.current
            close(fd)
            throw .system("cannot inspect state directory \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        // Its owner could swap state.db for one naming the host's uplink as an endpoint's
        // veth, which root's detach or gc would then delete: only this user's, or root's.
        if info.st_uid != geteuid(), info.st_uid != 0 {
            close(fd)
            throw BerthError(.permissionDenied, "state directory \(path) belongs to user id \(info.st_uid), neither this user nor root",
                             hint: "give it to this user (chown), or choose another state directory",
                             object: .state(path), parameter: "stateDirectory")
        }
        do throws(BerthError) {
            try checkAncestors(of: path)
            // And those of where the path leads: a symlinked ancestor (`/srv/berth` leading
            // into another user's home) is judged by what it points into too.
            if let real = realPath(of: fd), real != path { try checkAncestors(of: real, shownAs: path) }
        } catch {
            close(fd)
            throw error
        }
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0 {
            close(fd)
            throw BerthError(.permissionDenied, "state directory \(path) is writable by group or others (mode \(octal(mode)))",
                             hint: "make it mode 0700, or choose another state directory",
                             object: .state(path), parameter: "stateDirectory")
        }
        // A directory we may keep but that others can read: tighten it to what mkdir made.
        if mode != directoryMode, info.st_uid == geteuid(), fchmod(fd, directoryMode) != 0 {
            let err = Errno.current
            close(fd)
            throw .system("cannot set mode 0700 on state directory \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        return fd
    }

    /// Opens (creating if needed) the regular file `name` inside the state directory,
    /// refusing a symlink or anything else that is not a plain file, and leaves it 0600.
    static func openFile(_ name: String, in directory: Int32, directoryPath: String) throws(BerthError) -> Int32 {
        let path = directoryPath + "/" + name
        let fd = openat(directory, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, fileMode)
        guard fd >= 0 else {
            let err = Errno.current
            if err.code == ELOOP {
                throw BerthError(.permissionDenied, "state file \(path) is a symbolic link; Berth does not follow symlinks in its state directory",
                                 hint: "remove the link \(path); Berth will create the file")
            }
            throw .system("cannot open state file \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let err = Errno.current
            close(fd)
            throw .system("cannot inspect state file \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw BerthError(.state, "state file \(path) is not a regular file", hint: "move \(path) aside")
        }
        // open's mode is filtered through the umask and ignored for an existing file.
        if info.st_mode & 0o7777 != fileMode, fchmod(fd, fileMode) != 0 {
            let err = Errno.current
            close(fd)
            throw .system("cannot set mode 0600 on state file \(path)", err, privilege: filePrivilege, object: .state(path))
        }
        return fd
    }

    /// Refuses `name` in the state directory if it exists and is a symlink (SQLite's
    /// `-wal` and `-shm` files, which SQLite opens itself).
    static func refuseSymlink(_ name: String, in directory: Int32, directoryPath: String) throws(BerthError) {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFLNK {
            let path = directoryPath + "/" + name
            throw BerthError(.permissionDenied, "state file \(path) is a symbolic link; Berth does not follow symlinks in its state directory",
                             hint: "remove the link \(path)")
        }
    }

    private static func symlinkOrNotDirectory(_ path: String) -> BerthError {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            return BerthError(.permissionDenied, "state directory \(path) is a symbolic link; Berth does not follow symlinks for its state",
                              hint: "give the link's target as the state directory, or remove the link",
                              object: .state(path), parameter: "stateDirectory")
        }
        return BerthError(.invalidArgument, "state directory \(path) is not a directory", hint: "choose another state directory",
                          object: .state(path), parameter: "stateDirectory", remedy: .chooseAnother(parameter: "stateDirectory"))
    }

    /// Refuses a state directory under a directory someone else could rename it out of, or
    /// swap it in: SQLite, the resolver's lock and its log open their files by path, after
    /// the directory's own checks. Each directory above it must belong to this user or root
    /// and be writable by no one else, unless it is sticky (`/tmp`: others cannot rename what
    /// they do not own). As OpenSSH's StrictModes judges the paths to its keys. A relative
    /// path is judged from the working directory. `walked` is the path whose ancestors are
    /// judged; messages name the state directory as given (`path`, when `walked` is where it
    /// really is).
    static func checkAncestors(of walked: String, shownAs path: String? = nil) throws(BerthError) {
        let path = path ?? walked
        var absolute = walked
        if !walked.hasPrefix("/") {
            guard let cwd = getcwd(nil, 0) else { throw .system("cannot read the working directory for the state directory \(path)", Errno.current, privilege: filePrivilege, object: .state(path)) }
            absolute = String(cString: cwd) + "/" + walked
            free(cwd)
        }
        var components = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !components.isEmpty else { return }
        components.removeLast()
        var ancestor = "/"
        var index = 0
        while true {
            var info = stat()
            guard stat(ancestor, &info) == 0 else { throw .system("cannot inspect \(ancestor), above the state directory \(path)", Errno.current, privilege: filePrivilege, object: .state(path)) }
            if info.st_uid != geteuid(), info.st_uid != 0 {
                throw BerthError(.permissionDenied, "\(ancestor), above the state directory \(path), belongs to user id \(info.st_uid), neither this user nor root: its owner could replace the state directory",
                                 hint: "choose a state directory under directories only root (or this user) can change", object: .state(path), parameter: "stateDirectory")
            }
            if info.st_mode & 0o022 != 0, info.st_mode & mode_t(S_ISVTX) == 0 {
                throw BerthError(.permissionDenied, "\(ancestor), above the state directory \(path), is writable by group or others (mode \(octal(info.st_mode & 0o7777))): anyone who can write there could replace the state directory",
                                 hint: "choose a state directory under directories only root (or this user) can change", object: .state(path), parameter: "stateDirectory")
            }
            guard index < components.count else { return }
            ancestor += (ancestor == "/" ? "" : "/") + components[index]
            index += 1
        }
    }

    /// The directory `fd` is, with every symlink resolved (`/proc/self/fd`); nil if unreadable.
    static func realPath(of fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0, buffer[0] == 0x2F else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `mkdir -p` for the parents of `path`, with ordinary 0755 permissions: only the state
    /// directory itself needs to be private.
    private static func makeParents(of path: String) throws(BerthError) {
        var prefix = ""
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        if path.hasPrefix("/") { prefix = "/" }
        for component in components {
            prefix += component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw .system("cannot create directory \(prefix) for the state directory \(path)", Errno.current, privilege: filePrivilege, object: .state(path))
            }
            prefix += "/"
        }
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
